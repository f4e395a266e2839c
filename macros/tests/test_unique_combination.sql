{#- Generic test: the combination of `columns` is unique (duplicated combinations are returned).

    Exact, in two passes. Grouping a large table by several string columns shuffles every key (at
    10M events recommendation_lists holds 124.6M rows: 12+ minutes a test), so first the rows are
    grouped by one 64-bit hash of the combination, which shuffles 8 bytes a row; only the rows of a
    hash seen twice or more (every real duplicate, plus the rare colliding pair) are then grouped by
    the columns themselves. A combination holding nulls is a group like any other, as in the plain
    `group by`. `buckets` folds the hash into that many values: only for tests, to force collisions.
-#}
{% test unique_combination(model, columns, buckets=none) %}
    {%- if columns is string or columns | length < 2 -%}
        {{ exceptions.raise_compiler_error("unique_combination: `columns` must list 2+ columns, got " ~ columns) }}
    {%- endif %}
    {%- if buckets is not none and (buckets is not number or buckets < 1) -%}
        {{ exceptions.raise_compiler_error("unique_combination: `buckets` must be a positive integer or none, got " ~ buckets) }}
    {%- endif %}
    {%- set hash = "xxhash64(" ~ columns | join(', ') ~ ")" if buckets is none
        else "pmod(xxhash64(" ~ columns | join(', ') ~ "), " ~ buckets ~ ")" %}
    with combinations as (
        select
            {{ columns | join(', ') }},
            {{ hash }} as combination_hash
        from {{ model }}
    ),

    repeated_hashes as (
        select combination_hash
        from combinations
        group by combination_hash
        having count(*) > 1
    )

    select
        {{ columns | join(', ') }},
        count(*) as copies
    from combinations
    left semi join repeated_hashes on combinations.combination_hash = repeated_hashes.combination_hash
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
