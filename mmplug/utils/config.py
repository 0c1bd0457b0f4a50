"""Config helpers: strict ``--cfg-options`` and flat metric dicts."""
import difflib
import os
import os.path as osp
from typing import Any, Dict, Iterable, List, Mapping, Optional

from mmengine.config import Config


class ConfigKeyError(KeyError):
    """A ``--cfg-options`` key whose path does not exist in the config."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


def _children(node: Any) -> Optional[List[str]]:
    if isinstance(node, Mapping):
        return [str(k) for k in node.keys()]
    if isinstance(node, (list, tuple)):
        return [str(i) for i in range(len(node))]
    return None


def _child(node: Any, key: str) -> Any:
    if isinstance(node, Mapping):
        return node[key]
    return node[int(key)]


def missing_key(cfg: Mapping, key: str) -> Optional[str]:
    """The first missing prefix of a dotted ``key`` in ``cfg``, or None.

    ``a.b.0.c`` walks dicts by name and lists / tuples by index, as mmengine's
    ``merge_from_dict(allow_list_keys=True)`` does.
    """
    node = cfg
    parts = key.split('.')
    for i, part in enumerate(parts):
        names = _children(node)
        if names is None or part not in names:
            return '.'.join(parts[:i + 1])
        node = _child(node, part)
    return None


def check_cfg_options(cfg: Config, options: Mapping[str, Any]) -> None:
    """Refuse ``--cfg-options`` keys whose path is not in ``cfg``.

    mmengine silently adds unknown keys, so a typo such as
    ``model.detector.backbone.dept=18`` would be ignored. This raises
    instead, naming the key and the closest existing names.

    Raises:
        ConfigKeyError: For the first unknown key.
    """
    # mmengine's Config wraps a ConfigDict (a dict) without being a Mapping
    cfg = cfg._cfg_dict if isinstance(cfg, Config) else cfg
    for key in options:
        missing = missing_key(cfg, key)
        if missing is None:
            continue
        parent_path, _, last = missing.rpartition('.')
        parent = cfg if not parent_path else _walk(cfg, parent_path)
        names = _children(parent) or []
        close = difflib.get_close_matches(last, names, n=3, cutoff=0.5)
        hint = f'; did you mean {", ".join(close)}?' if close else ''
        where = f'"{parent_path}"' if parent_path else 'the top level'
        raise ConfigKeyError(
            f'--cfg-options key "{key}": "{last}" does not exist at {where} '
            f'of the config{hint} (use --allow-new-keys to add new keys)')


def _walk(cfg: Any, path: str) -> Any:
    node = cfg
    for part in path.split('.'):
        node = _child(node, part)
    return node


def merge_cfg_options(cfg: Config, options: Optional[Mapping[str, Any]],
                      allow_new_keys: bool = False) -> Config:
    """Merge ``--cfg-options`` into ``cfg``, strictly unless allowed."""
    if not options:
        return cfg
    if not allow_new_keys:
        check_cfg_options(cfg, options)
    cfg.merge_from_dict(dict(options))
    return cfg


def flatten_metrics(metrics: Mapping[str, Any]) -> Dict[str, Any]:
    """``{'motchallenge-metric/HOTA': x, 'coco/bbox_mAP': y}`` ->
    ``{'HOTA': x, 'bbox_mAP': y}``; a short name used by two metrics keeps
    its prefix. Numpy scalars become Python numbers."""
    short = [k.rsplit('/', 1)[-1] for k in metrics]
    out = {}
    for key, name in zip(metrics, short):
        value = metrics[key]
        if hasattr(value, 'item'):
            value = value.item()
        out[name if short.count(name) == 1 else key] = value
    return out


def iter_config_files(root: str) -> Iterable[str]:
    """Every ``*.py`` config under ``root`` outside ``_base_`` folders."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != '_base_')
        for name in sorted(files):
            if name.endswith('.py'):
                yield osp.join(folder, name)
