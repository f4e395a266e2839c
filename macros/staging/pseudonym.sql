{#- HMAC-SHA256 of a string column under the key of WATCHHOUSE_PSEUDONYM_KEY, as 64 hex digits
    (null stays null): sha256(opad || sha256(ipad || value)), RFC 2104. `watchhouse build` passes
    the key's pads hex-encoded in the environment; Spark substitutes `${env:...}` when it parses the
    statement, so the SQL dbt compiles and logs names the pads and never holds them. Use it in
    table models only: a view would keep its substituted text, pads included, in the metastore. -#}
{% macro pseudonym(column) -%}
    sha2(concat(
        unhex('${env:WATCHHOUSE_PSEUDONYM_OPAD}'),
        unhex(sha2(concat(unhex('${env:WATCHHOUSE_PSEUDONYM_IPAD}'), encode({{ column }}, 'UTF-8')), 256))
    ), 256)
{%- endmacro %}
