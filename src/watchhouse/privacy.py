"""Pseudonyms of user ids and IP hashes in the analyst-facing marts (docs/reliability.md, "Privacy").

A pseudonym is HMAC-SHA256(key, id) as 64 hex digits. The key comes from the environment
(WATCHHOUSE_PSEUDONYM_KEY); without one a fixed, public demo key is used, and a build says so
loudly unless its landing is the generator's demo data.

Spark computes the HMAC in SQL (macro `pseudonym`) without the key ever appearing in SQL text:
the dbt child gets the two RFC 2104 pads, hex-encoded, in WATCHHOUSE_PSEUDONYM_IPAD / _OPAD,
and the SQL names them as `${env:...}`, which Spark substitutes only when it parses a statement.
So dbt's compiled SQL, run_results and logs hold the reference, never the value. A table stores
the computed hashes only; a view would store its substituted text in the metastore, so the
hashes are computed in tables (the int_*_validated models).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from watchhouse import publish
from watchhouse.errors import UserError

KEY_ENV = "WATCHHOUSE_PSEUDONYM_KEY"
IPAD_ENV = "WATCHHOUSE_PSEUDONYM_IPAD"
OPAD_ENV = "WATCHHOUSE_PSEUDONYM_OPAD"
# public on purpose: it only makes the demo's ids look like production's, it hides nothing
DEMO_KEY = "watchhouse-demo-key: not a secret"
BLOCK_BYTES = 64  # SHA-256's block size (RFC 2104: B)
KEY_ID_MESSAGE = b"watchhouse pseudonym key id"
PROBE_TEXT = "watchhouse pseudonym probe"
GENERATOR_MANIFEST = Path("_generator") / "manifest.json"  # written by `watchhouse generate` only


@dataclass(frozen=True)
class PseudonymKey:
    secret: bytes = field(repr=False)
    is_demo: bool

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PseudonymKey:
        """The key of WATCHHOUSE_PSEUDONYM_KEY (UTF-8); unset or empty: the demo key."""
        text = (os.environ if env is None else env).get(KEY_ENV, "")
        return cls(text.encode(), False) if text else cls(DEMO_KEY.encode(), True)

    @property
    def key_id(self) -> str:
        """A fingerprint that names the key without revealing it (kept in the published manifest)."""
        return hmac.new(self.secret, KEY_ID_MESSAGE, hashlib.sha256).hexdigest()[:16]

    def pads(self) -> tuple[bytes, bytes]:
        """RFC 2104's inner and outer pads: the key (hashed first when longer than a block),
        zero-filled to 64 bytes, XOR 0x36 and XOR 0x5c. HMAC(m) = H(opad || H(ipad || m))."""
        key = hashlib.sha256(self.secret).digest() if len(self.secret) > BLOCK_BYTES else self.secret
        key = key.ljust(BLOCK_BYTES, b"\0")
        return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)

    def dbt_env(self) -> dict[str, str]:
        """What the dbt child needs: the pads, hex-encoded (the macro `pseudonym` unhexes them)."""
        ipad, opad = self.pads()
        return {IPAD_ENV: ipad.hex(), OPAD_ENV: opad.hex()}

    def pseudonym(self, value: str) -> str:
        """The pseudonym a mart holds for `value` (what `watchhouse pseudonym` prints)."""
        return hmac.new(self.secret, value.encode(), hashlib.sha256).hexdigest()

    def probe(self) -> dict[str, str]:
        """dbt var `pseudonym_probe`: a fixed text and its pseudonym under this key. The on-run-start
        hook has Spark hash the text with the pads it sees, so a cluster server started with another
        key is refused (the pseudonym of a public text reveals nothing of the key)."""
        return {"text": PROBE_TEXT, "pseudonym": self.pseudonym(PROBE_TEXT)}

    def manifest_meta(self) -> dict:
        """Keys for the published manifest (publish.publish(meta=...))."""
        return {"pseudonym_key_id": self.key_id, "pseudonym_demo_key": self.is_demo}


def with_pads(env: dict[str, str]) -> dict[str, str]:
    """A dbt child's environment: the pads of the key in `env` (overriding any stale ones), and
    not the key itself (the child needs only the pads)."""
    key = PseudonymKey.from_env(env)
    env = {name: value for name, value in env.items() if name != KEY_ENV}
    return {**env, **key.dbt_env()}


def demo_warning(key: PseudonymKey, landing: Path) -> str | None:
    """The warning for the demo key on data that is not the generator's, else None."""
    if not key.is_demo or (Path(landing) / GENERATOR_MANIFEST).is_file():
        return None
    return "\n".join(
        [
            "!" * 100,
            f"watchhouse: WARNING: {KEY_ENV} is not set, so user ids and IP hashes in the marts are",
            "  pseudonymised with the PUBLIC demo key. Anyone can recompute them: on real readers' data they",
            f"  are only obfuscated, not protected. The landing at {landing} is not generated demo data.",
            f"  Set a secret key (e.g. {KEY_ENV}=$(openssl rand -hex 32), kept outside the repo) and build",
            "  into a fresh WATCHHOUSE_HOME (a home keeps the key of its first build: docs/reliability.md).",
            "!" * 100,
        ]
    )


def _described(key: PseudonymKey) -> str:
    return "the demo key (WATCHHOUSE_PSEUDONYM_KEY unset)" if key.is_demo else f"key id {key.key_id}"


def _published_with_another_key(home: Path, key: PseudonymKey) -> dict | None:
    """The published manifest when the batch readers see was built with another key than `key`."""
    shown = publish.published_info(home)
    return None if shown is None or shown.get("pseudonym_key_id") == key.key_id else shown


def check_key_unchanged(home: Path, key: PseudonymKey) -> None:
    """Refuse a key other than the one the published batch was built with: earlier batches'
    partitions (recommendation_lists, offline_eval_*, ...) hold pseudonyms of that key, and new
    ones would never join them. Nothing published yet: any key is fine."""
    shown = _published_with_another_key(home, key)
    if shown is None:
        return
    published = shown.get("pseudonym_key_id")
    where = f"published batch {shown.get('batch', '?')} ({shown.get('version', '?')}) in {home}"
    if published is None:
        raise UserError(
            f"{where} was built before ids were pseudonymised: its per-batch partitions hold raw user ids. "
            f"Build into a fresh WATCHHOUSE_HOME and backfill the batches you need (watchhouse backfill --from ...)"
        )
    used = "the demo key" if shown.get("pseudonym_demo_key") else f"key id {published}"
    raise UserError(
        f"{KEY_ENV} changed: {where} was pseudonymised with {used}, this run would use {_described(key)}. "
        "Earlier batches' partitions (recommendation_lists, offline_eval_*, ...) hold the old pseudonyms and "
        f"would no longer join. Set {KEY_ENV} back to the key of that home, or rotate: build into a fresh "
        "WATCHHOUSE_HOME with the new key and backfill (watchhouse backfill --from ...)"
    )


def check_lookup_key(home: Path, key: PseudonymKey) -> None:
    """Refuse to look pseudonyms up under another key than the published marts' (none would match)."""
    shown = _published_with_another_key(home, key)
    if shown is None:
        return
    published = shown.get("pseudonym_key_id")
    built = "no key (raw ids: built before pseudonyms)" if published is None else f"key id {published}"
    raise UserError(
        f"the marts in {home} were built with {built}, this lookup would use {_described(key)}: its pseudonyms would "
        f"match no row there. Set {KEY_ENV} to the key that home was built with (or WATCHHOUSE_HOME to its home)"
    )


def key_for_build(home: Path, landing: Path) -> PseudonymKey:
    """The key of a build: refused when it differs from the published one; the demo key warned
    about (stderr) outside the demo."""
    key = PseudonymKey.from_env()
    check_key_unchanged(home, key)
    warning = demo_warning(key, landing)
    if warning:
        print(warning, file=sys.stderr)
    return key
