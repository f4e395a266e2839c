"""Generator configuration and the calibration constants it stands on.

The constants were fitted once, offline, against ../shared/data (see
docs/generator.md and tests/python/test_generator_calibration.py, which
re-measures the fit); the generator itself never reads ../shared.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

#: The platform's data begins here; earlier timestamps are contract breaks.
PLATFORM_START = dt.date(2020, 1, 1)

#: Categories grouped into co-watching communities (a viewer mostly stays in one).
COMMUNITIES: dict[str, tuple[str, ...]] = {
    "fps": ("valorant", "counter_strike", "apex_legends", "fortnite"),
    "strategy": ("league_of_legends", "dota2", "starcraft", "teamfight_tactics"),
    "talk": ("just_chatting", "irl", "asmr", "cooking"),
    "creative": ("music", "art", "dance", "talk_show"),
    "sandbox": ("minecraft", "gta_v", "lost_ark", "maplestory"),
    "sports": ("sports", "chess", "esports_news", "racing"),
}
CATEGORIES: tuple[str, ...] = tuple(c for cats in COMMUNITIES.values() for c in cats)
COUNTRIES = ("KR", "US", "JP", "TW", "DE", "BR", "FR", "GB")
COUNTRY_P = (0.55, 0.15, 0.08, 0.06, 0.05, 0.05, 0.03, 0.03)
CLIENTS = ("web", "android", "ios", "tv")
CLIENT_P = (0.35, 0.35, 0.2, 0.1)
SURFACES = ("home", "search", "channel", "following", "recommendation", "clip_feed")

#: KuaiRand-Pure short-video durations (seconds), quantiles at 0, 5, ..., 100 %.
#: Shortform VOD durations are drawn from this curve (log-linear interpolation).
SHORTFORM_DURATION_QUANTILES = (
    5.0,
    10.7,
    14.6,
    18.8,
    24.5,
    31.9,
    40.8,
    51.8,
    62.7,
    71.1,
    81.2,
    89.4,
    100.2,
    114.4,
    129.8,
    148.2,
    170.3,
    197.4,
    237.8,
    303.5,
    1177.7,
)

#: Log-normal (median seconds, sigma, min, max) of the other VOD types' durations.
DURATION_LOGNORMAL = {
    "highlight": (480.0, 0.6, 60.0, 3600.0),
    "clip": (30.0, 0.45, 5.0, 90.0),
    "upload": (720.0, 0.7, 60.0, 7200.0),
}

#: Share of a VOD a normal viewer watches, Beta(a, b) per VOD type.
WATCH_RATIO_BETA = {
    "replay": (0.7, 5.0),
    "highlight": (1.3, 1.6),
    "clip": (2.2, 1.0),
    "shortform": (1.8, 1.0),
    "upload": (1.2, 1.5),
}

#: Share of views that start in each UTC hour (a KST evening peak, UTC+9).
HOURLY_PROFILE = np.array([4, 5, 6, 6, 5, 5, 4, 4, 5, 6, 7, 8, 9, 10, 10, 9, 6, 3, 2, 1, 1, 1, 2, 3], dtype=float)


@dataclass(frozen=True)
class AbuseConfig:
    """How much abuse to plant, and its shape. Tests vary these."""

    share: float = 0.04  # abusive VOD views / all VOD views
    bot_fraction: float = 0.5  # of abusive views: bots
    farm_fraction: float = 0.3  # of abusive views: view farms (rest: replay loops)
    bot_interval_seconds: float = 45.0  # mean gap between a bot's views
    bot_jitter_seconds: float = 3.0
    bot_watch_seconds: tuple[float, float] = (2.0, 8.0)
    farm_accounts: int = 40  # accounts per farm
    farm_ips: int = 3  # ip hashes a farm's accounts share
    farm_target_vods: int = 4
    loop_replays: tuple[int, int] = (25, 120)  # replays of one VOD by one user in a day
    # shapes written to evade fixed rules (watchhouse.generate.profiles); the defaults are the shapes above
    bot_shift_hours: tuple[float, float] = (4.0, 12.0)  # a bot works this long a day (24: all day)
    bot_gaps: str = "normal"  # "normal": interval +- jitter; "exponential": memoryless, CV 1
    bot_camouflage: float = 0.0  # share of a bot's views on popular VODs, watched like a person would
    farm_views_per_vod: tuple[int, int] = (2, 7)  # views of each target VOD per account and day
    loop_days: int = 1  # a loop runs on this many consecutive days, same user and VOD
    # heavy but honest use: labelled normal (_generator/heavy_use), must not be flagged
    binge_users: int = 0  # users who watch 40-90 VODs through in a day
    clip_replayers: int = 0  # users who replay one short clip 4-9 times in a day
    shared_ip_groups: int = 0  # campuses / carriers: groups of 20-60 normal users on one IP hash
    piece_watchers: int = 0  # users who watch one VOD of an hour or more in 10-20 pieces a day


@dataclass(frozen=True)
class GeneratorConfig:
    """Scale and shape of the demo platform. Frozen: one run, one config."""

    users: int = 20_000
    streamers: int | None = None  # default: users // 8
    days: int = 14
    events: int | None = None  # target VOD watch events; default: ~3.5 per user per day
    end_date: dt.date = dt.date(2026, 11, 20)
    seed: int = 7
    history_days: int = 45  # broadcasts / VODs that exist before the first event day
    popularity_exponent: float = 1.3  # Zipf exponent of streamer popularity (fitted to Twitch 100k)
    live_share: float = 0.18  # live views / VOD views
    bad_row_share: float = 0.01  # contract-breaking rows per table
    chunk_rows: int = 1_000_000  # bounded memory: most rows held at once per table
    abuse: AbuseConfig = field(default_factory=AbuseConfig)

    def __post_init__(self) -> None:
        if self.users < 50:
            raise ValueError(f"users={self.users}: need at least 50 users")
        if self.days < 1:
            raise ValueError(f"days={self.days}: need at least 1 day")
        if self.events is not None and self.events < self.users:
            raise ValueError(f"events={self.events}: need at least one event per user ({self.users})")
        if not 0 <= self.bad_row_share < 0.2:
            raise ValueError(f"bad_row_share={self.bad_row_share}: use a share in [0, 0.2)")
        if not 0 <= self.abuse.share < 0.5:
            raise ValueError(f"abuse share={self.abuse.share}: use a share in [0, 0.5)")
        if self.abuse.bot_gaps not in ("normal", "exponential"):
            raise ValueError(f"bot_gaps={self.abuse.bot_gaps!r}: use 'normal' or 'exponential'")
        if self.abuse.loop_days < 1:
            raise ValueError(f"loop_days={self.abuse.loop_days}: need at least 1 day")

    @property
    def n_streamers(self) -> int:
        return self.streamers if self.streamers is not None else max(20, self.users // 8)

    @property
    def n_events(self) -> int:
        return self.events if self.events is not None else int(self.users * self.days * 3.5)

    @property
    def start_date(self) -> dt.date:
        return self.end_date - dt.timedelta(days=self.days - 1)
