"""Named abuse profiles: shapes of bots, farms and loops beyond the default one, and heavy but honest use.

The abuse filter is tuned on some profiles and reported on the others (docs/valuation.md "Robustness"),
so that its figures describe the filter and not one generator. The shapes follow issue 18: jittered
timing, bots that run all day, farms spread over many IPs with few views per account, loops spread
over days, camouflage viewing of popular content; and, labelled normal, binge watchers, people
replaying a short clip, and campuses / carriers where many people share one IP hash.
"""

from __future__ import annotations

from watchhouse.generate.config import AbuseConfig

PROFILES: dict[str, AbuseConfig] = {
    # the generator's own shapes (what the filter was first written against)
    "default": AbuseConfig(),
    # bots: memoryless gaps (no regular rhythm), all day, human-length watches, a third camouflage
    "jittered_bots": AbuseConfig(
        share=0.05, bot_fraction=0.8, farm_fraction=0.1, bot_interval_seconds=120.0, bot_gaps="exponential",
        bot_shift_hours=(20.0, 24.0), bot_watch_seconds=(15.0, 60.0), bot_camouflage=0.35,
    ),
    # bots in short regular bursts, but slow and with long watches (few views a day)
    "slow_bots": AbuseConfig(
        share=0.03, bot_fraction=0.8, farm_fraction=0.1, bot_interval_seconds=300.0, bot_jitter_seconds=60.0,
        bot_shift_hours=(2.0, 4.0), bot_watch_seconds=(30.0, 120.0),
    ),
    # farms: one IP per account (residential proxies), one or two views per VOD and account
    "proxy_farms": AbuseConfig(
        share=0.05, bot_fraction=0.1, farm_fraction=0.8, farm_accounts=60, farm_ips=60, farm_target_vods=6,
        farm_views_per_vod=(1, 3),
    ),
    # farms: a few IPs, many accounts, many target VODs
    "wide_farms": AbuseConfig(
        share=0.05, bot_fraction=0.1, farm_fraction=0.8, farm_accounts=25, farm_ips=5, farm_target_vods=12,
        farm_views_per_vod=(1, 4),
    ),
    # loops: few replays a day, over several days
    "slow_loops": AbuseConfig(share=0.04, bot_fraction=0.1, farm_fraction=0.1, loop_replays=(6, 12), loop_days=4),
    # written as a held-out case after the rules of 2026-12-07 were chosen, never tuned on: all-day
    # memoryless bots at another rhythm, and loops of 5-9 replays a day over 3 days
    "mixed_evasion": AbuseConfig(
        share=0.05, bot_fraction=0.5, farm_fraction=0.2, bot_interval_seconds=150.0, bot_gaps="exponential",
        bot_shift_hours=(21.0, 24.0), bot_watch_seconds=(20.0, 90.0), bot_camouflage=0.3,
        loop_replays=(5, 10), loop_days=3,
    ),
    # written as the next held-out case on 2026-12-07 (session 17), before the loop rule was changed on what
    # mixed_evasion showed; session 18 chose its loop bar on it (a tuning profile since): bots on a 90 s +- 20 s
    # rhythm for 6-10 h watching 5-40 s, farms of 30 accounts on 8 IPs over 5 VODs at 1-4 views each, loops of
    # 4-8 replays a day over 4 days
    "late_evasion": AbuseConfig(
        share=0.05, bot_fraction=0.4, farm_fraction=0.3, bot_interval_seconds=90.0, bot_jitter_seconds=20.0,
        bot_shift_hours=(6.0, 10.0), bot_watch_seconds=(5.0, 40.0), farm_accounts=30, farm_ips=8,
        farm_target_vods=5, farm_views_per_vod=(1, 5), loop_replays=(4, 9), loop_days=4,
    ),
    # written as the next held-out case on 2026-12-07 (session 18), before the loop rule was chosen on what
    # late_evasion showed; the restless bot rule was then chosen on it (a tuning profile since): memoryless bots
    # every ~240 s for 14-18 h watching 20-80 s with a quarter camouflage, farms of 40 accounts on 16 IPs over 6
    # VODs at 1-2 views each, loops of 3-7 replays a day over 5 days
    "drip_evasion": AbuseConfig(
        share=0.05, bot_fraction=0.35, farm_fraction=0.35, bot_interval_seconds=240.0, bot_gaps="exponential",
        bot_shift_hours=(14.0, 18.0), bot_watch_seconds=(20.0, 80.0), bot_camouflage=0.25, farm_accounts=40,
        farm_ips=16, farm_target_vods=6, farm_views_per_vod=(1, 3), loop_replays=(3, 8), loop_days=5,
    ),
    # written as the next held-out case on 2026-12-07 (session 18), after drip_evasion's results were read and
    # before the bot rule chosen on them was written; never tuned on: memoryless bots every ~180 s for 10-14 h
    # watching 30-120 s with 30% camouflage, farms of 24 accounts on 12 IPs over 8 VODs at 1-3 views each,
    # loops of 4-9 replays a day over 3 days
    "dusk_evasion": AbuseConfig(
        share=0.05, bot_fraction=0.4, farm_fraction=0.3, bot_interval_seconds=180.0, bot_gaps="exponential",
        bot_shift_hours=(10.0, 14.0), bot_watch_seconds=(30.0, 120.0), bot_camouflage=0.3, farm_accounts=24,
        farm_ips=12, farm_target_vods=8, farm_views_per_vod=(1, 4), loop_replays=(4, 10), loop_days=3,
    ),
    # heavy honest use only (a little default abuse, so the filter has something to find)
    "heavy_normal": AbuseConfig(
        share=0.01, binge_users=25, clip_replayers=40, shared_ip_groups=4, piece_watchers=30
    ),
}  # fmt: skip


def profile(name: str) -> AbuseConfig:
    """The AbuseConfig of a named profile; a name not in PROFILES is refused with the names there are."""
    if name not in PROFILES:
        raise ValueError(f"abuse profile {name!r} is not one of {', '.join(sorted(PROFILES))}")
    return PROFILES[name]
