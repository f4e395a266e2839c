-- Lists served outside this project during the batch day, in the common shape; model_name
-- is prefixed 'served:' so an external name can never collide with one of ours. Ranks are
-- kept as served (gaps allowed); the evaluation re-numbers positions per list.
select
    user_id,
    item_id,
    item_type,
    rank,
    cast(null as double) as score,
    batch_date,
    concat('served:', model_name) as model_name
from {{ ref('int_recommendations_served_accepted') }}
where batch_date = {{ as_of_date() }}
