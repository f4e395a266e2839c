"""Warm start: today's model begins from the weights of the same model's latest run of an earlier
batch (docs/ml.md, "Warm start"; var ml_warm_start, off by default).

An embedding row means one entity (a VOD, a streamer, a category), and the batch's id map gives
each entity a new index every day (`ml_id_map`: idx in id order). So every artifact carries, beside
its state dict, the ids behind the rows of each entity-keyed table (`artifact`), and `transfer`
copies a row only to the row of the same id in today's model; a new id keeps today's
initialisation, a vanished id is dropped. Any other tensor is copied when its shape is unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

FORMAT = "watchhouse.model/2"  # a dict: format, state_dict, tables {key: entity}, ids {key: [id of each row]}


def artifact(model: nn.Module, tables: Mapping[str, str], vocab_ids: Mapping[str, np.ndarray]) -> dict:
    """What a training run logs: the state dict and, for each entity-keyed embedding weight
    (`tables`: state-dict key -> entity type), the ids of its rows in order. Row r of such a table is
    the entity of index r in the batch's id map (`vocab_ids`), so a table may have fewer rows than the
    map has ids (a streamer code table sized by the largest code in the catalogue), never more."""
    state = model.state_dict()
    missing = sorted(set(tables) - set(state))
    if missing:
        raise ValueError(f"tables {missing}: not in the model's state dict (keys like 'item_id_emb.weight')")
    ids = {}
    for key, entity in tables.items():
        if entity not in vocab_ids:
            raise ValueError(f"{key}: no ids for entity type {entity!r} (vocab_ids has {sorted(vocab_ids)})")
        rows = state[key].shape[0]
        if rows > len(vocab_ids[entity]):
            raise ValueError(f"{key} has {rows} rows but the id map has only {len(vocab_ids[entity])} {entity} ids")
        ids[key] = [str(x) for x in vocab_ids[entity][:rows]]
    return {"format": FORMAT, "state_dict": state, "tables": dict(tables), "ids": ids}


def transfer(model: nn.Module, saved: Mapping, vocab_ids: Mapping[str, np.ndarray]) -> dict:
    """Copy a saved artifact's weights into `model` (in place): entity-keyed rows by id, other
    tensors of an unchanged shape as they are. Returns counts: tensors copied, tensors kept (new
    shape), and per entity-keyed table the rows matched and the rows of today's model."""
    if saved.get("format") != FORMAT:
        raise ValueError(f"artifact format {saved.get('format')!r}: warm start reads {FORMAT!r} artifacts")
    old_state, tables, old_ids = saved["state_dict"], saved["tables"], saved["ids"]
    state = model.state_dict()
    out: dict = {"copied": 0, "kept": 0, "rows": {}}
    with torch.no_grad():
        for key, tensor in state.items():
            if key not in old_state:
                out["kept"] += 1
                continue
            old = old_state[key]
            if key in tables:
                if old.shape[1:] != tensor.shape[1:]:  # a new embedding width: nothing to copy row by row
                    out["kept"] += 1
                    continue
                new_rows, old_rows = matching_rows(vocab_ids[tables[key]][: tensor.shape[0]], old_ids[key])
                if len(new_rows):
                    tensor[torch.from_numpy(new_rows)] = old[torch.from_numpy(old_rows)].to(tensor.dtype)
                out["rows"][key] = (len(new_rows), int(tensor.shape[0]))
                out["copied"] += 1
            elif old.shape == tensor.shape:
                tensor.copy_(old)
                out["copied"] += 1
            else:
                out["kept"] += 1
    return out


def matching_rows(new_ids, old_ids) -> tuple[np.ndarray, np.ndarray]:
    """(rows of today's ids, rows of the same ids in the saved table), for the ids in both (ids are unique)."""
    import pandas as pd

    found = pd.Index(np.asarray(old_ids, dtype=object).astype(str)).get_indexer(
        np.asarray(new_ids, dtype=object).astype(str)
    )
    new_rows = np.flatnonzero(found >= 0).astype(np.int64)
    return new_rows, found[new_rows].astype(np.int64)


def previous(home: Path, model_name: str, before: dt.date) -> tuple[str, dict] | None:
    """(run id, artifact) of `model_name`'s latest finished run of the latest batch before `before` that
    logged a warm-startable artifact; None when there is none. A re-run of a batch therefore starts from the
    batch before it, never from an earlier run of itself."""
    from watchhouse.ml import registry

    found = registry.latest_artifact(home, model_name, before, f"model/{model_name}.pt")
    if found is None:
        return None
    run_id, path = found
    saved = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(saved, Mapping) or saved.get("format") != FORMAT:
        return None  # a run logged before artifacts carried their ids: nothing to map rows by
    return run_id, saved
