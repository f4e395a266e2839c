"""Score the abuse filter (mart abuse_flags) against ground-truth labels.

Labels (`abuse_labels`, event_id + abuse_kind) exist only for generated data;
the filter never reads them. Precision of a kind = share of views flagged as
that kind that carry that label; recall of a kind = share of views labelled
that kind that were flagged (as any kind). Overall: any flag vs any label.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd


def abuse_scores(flags: pd.DataFrame, labels: pd.DataFrame) -> dict[str, dict[str, float]]:
    """{kind or 'overall': {precision, recall, flagged, labelled}} from event_id/abuse_kind frames."""
    flagged, labelled = set(flags.event_id), set(labels.event_id)
    hit = flagged & labelled
    out = {
        "overall": {
            "precision": len(hit) / len(flagged) if flagged else 1.0,
            "recall": len(hit) / len(labelled) if labelled else 1.0,
            "flagged": len(flagged),
            "labelled": len(labelled),
        }
    }
    for kind in sorted(set(labels.abuse_kind) | set(flags.abuse_kind)):
        mine = set(labels[labels.abuse_kind == kind].event_id)
        got = set(flags[flags.abuse_kind == kind].event_id)
        out[kind] = {
            "precision": len(got & mine) / len(got) if got else 1.0,
            "recall": len(flagged & mine) / len(mine) if mine else 1.0,
            "flagged": len(got),
            "labelled": len(mine),
        }
    return out


def report(landing: Path, marts: Path) -> str:
    """A text table of abuse_scores for a built warehouse, limited to the batch it was built for."""
    con = duckdb.connect()
    batch = con.execute(
        f"select max(built_for_batch) from read_parquet('{marts}/landing_reconciliation/*.parquet')"
    ).fetchone()[0]
    labels = con.execute(
        f"""select l.event_id, l.abuse_kind
            from read_parquet('{landing}/abuse_labels/**/*.parquet') as l
            where l.event_id in (
                select event_id from read_parquet('{marts}/view_valuations/*.parquet')
                union all select event_id from read_parquet('{marts}/abuse_flags/*.parquet'))"""
    ).df()
    flags = con.execute(f"select event_id, abuse_kind from read_parquet('{marts}/abuse_flags/*.parquet')").df()
    scores = abuse_scores(flags, labels)
    lines = [
        f"abuse filter vs labels, batch {batch}",
        f"{'kind':<16}{'flagged':>9}{'labelled':>10}{'precision':>11}{'recall':>8}",
    ]
    for kind, s in scores.items():
        lines.append(f"{kind:<16}{s['flagged']:>9}{s['labelled']:>10}{s['precision']:>11.4f}{s['recall']:>8.4f}")
    return "\n".join(lines)
