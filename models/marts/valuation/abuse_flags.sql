-- One row per flagged view: its primary abuse kind and, in words, every signal it raised.
with signals as (
    select * from {{ ref('int_views_abuse_signals') }}
),

flagged as (
    select
        event_id,
        user_id,
        vod_id,
        streamer_id,
        ip_hash,
        started_at,
        watched_seconds,
        batch_date,
        -- the most specific explanation: a farm names the VOD it inflates; a loop too, unless its account is
        -- a bot by a script or by being awake all day (back-to-back replays run like a timer, so a loop is
        -- often a timer day as well); every signal is in `reasons`
        case
            when is_farm_signal then 'view_farm'
            when is_loop_signal and not (is_bot_script_signal or is_bot_awake_signal) then 'replay_loop'
            when is_bot_signal then 'bot'
            else 'overlong_watch'
        end as abuse_kind,
        concat_ws(
            '; ',
            case
                when is_bot_signal
                    then format_string(
                        'bot (%s): %d views that day in %d clock hours, %.0f%% under %ds, gap CV %.2f, '
                        || 'gap IQR / median %.2f',
                        concat_ws(
                            ', ',
                            if(is_bot_script_signal, 'short views on a timer', null),
                            if(is_bot_timer_signal, 'a timer', null),
                            if(is_bot_awake_signal, 'awake all day', null),
                            if(
                                is_bot_restless_signal,
                                format_string(
                                    'restless: %.1fx the day p99 of views per user-day, %.0f%% partial watches',
                                    user_day_views / day_views_p99, 100 * partial_share
                                ),
                                null
                            )
                        ),
                        user_day_views, active_hours, 100 * short_share, {{ var('abuse_bot_short_seconds') }},
                        coalesce(gap_cv, double('NaN')), coalesce(gap_iqr_ratio, double('NaN'))
                    )
            end,
            case
                when is_farm_ip_signal
                    then format_string(
                        'view_farm: %d accounts on one IP hash, %d views of this VOD that day (%.0f%% of its views)',
                        ip_accounts, ip_vod_views, 100 * ip_vod_share
                    )
            end,
            case
                when is_farm_lockstep_signal
                    then format_string(
                        'view_farm: %d accounts viewed exactly the same %d VODs that day, '
                        || '>= %.0f%% of the viewers of each',
                        lockstep_accounts, user_day_vod_count, 100 * lockstep_share
                    )
            end,
            case
                when is_loop_signal
                    then format_string(
                        'replay_loop: %d views of this VOD by this user that day (%.1f passes through it), '
                        || '%d within %d days either side, %d of those days intense',
                        replays, passes, window_replays, {{ var('abuse_loop_window_days') }}, intense_days
                    )
            end,
            case
                when is_overlong_signal
                    then format_string(
                        'overlong_watch: watched %.0fs of a %.0fs VOD', watched_seconds, duration_seconds
                    )
            end
        ) as reasons,
        cast(is_bot_signal as int)
        + cast(is_farm_signal as int)
        + cast(is_loop_signal as int)
        + cast(is_overlong_signal as int) as signal_count
    from signals
    where is_flagged
)

select * from flagged
