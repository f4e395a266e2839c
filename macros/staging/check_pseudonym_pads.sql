{#- Refuse a run whose Spark does not see both pads of the pseudonym key, before any model: without
    them every pseudonym would be null. Asks Spark itself (it substitutes the values; only whether each
    is 128 hex digits comes back), so a cluster target's server is checked too. -#}
{% macro check_pseudonym_pads() %}
    {% if execute %}
        {% set names = ['WATCHHOUSE_PSEUDONYM_IPAD', 'WATCHHOUSE_PSEUDONYM_OPAD'] %}
        {% set checks = [] %}
        {% for name in names %}
            {% do checks.append(
                "coalesce(length('${env:" ~ name ~ "}') = 128 and unhex('${env:" ~ name ~ "}') is not null, false)"
            ) %}
        {% endfor %}
        {% set seen = run_query("select " ~ checks | join(", ")).rows[0] %}
        {% set bad = [] %}
        {% for name in names %}
            {% if not seen[loop.index0] %}{% do bad.append(name) %}{% endif %}
        {% endfor %}
        {% if bad %}
            {{ exceptions.raise_compiler_error(
                "Spark does not see the pseudonym key's pads: " ~ bad | join(" and ")
                ~ " missing or not 128 hex digits. Run through `make build` / `watchhouse build`, which "
                ~ "derives them from WATCHHOUSE_PSEUDONYM_KEY (on the cluster target the Spark server's "
                ~ "environment needs them too)."
            ) }}
        {% endif %}
        {#- the pads are there; are they the run's key's? (a cluster server started with another key) -#}
        {% set probe = var('pseudonym_probe', {}) %}
        {% if probe %}
            {% set text = "'" ~ probe['text'] | replace("'", "") ~ "'" %}
            {% set seen = run_query("select " ~ pseudonym(text)).rows[0][0] %}
            {% if seen != probe['pseudonym'] %}
                {{ exceptions.raise_compiler_error(
                    "Spark's pseudonym pads belong to another key than this run's WATCHHOUSE_PSEUDONYM_KEY: "
                    ~ "on the cluster target the server was started with another key. Restart it with this "
                    ~ "run's key (watchhouse server stop, then watchhouse server start)."
                ) }}
            {% endif %}
        {% endif %}
    {% endif %}
{% endmacro %}
