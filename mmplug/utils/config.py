"""Config helpers: strict ``--cfg-options`` and flat metric dicts."""
import difflib
import inspect
import os
import os.path as osp
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, \
    Tuple

from mmengine.config import Config
from mmengine.runner import Runner

# Top-level config keys read after loading, besides the Runner's arguments
# (see :func:`runtime_keys`): by mmengine's Runner from ``cfg`` itself
# (model wrapping, compile, ...) and by mmplug's tools (``runner_type``,
# ``init_cpu_dist``). A tool that reads another top-level key adds it here.
RUNTIME_KEYS = {
    'model_wrapper_cfg', 'find_unused_parameters', 'sync_bn', 'compile',
    'activation_checkpointing', 'efficient_conv_bn_eval', 'runner_type'
}
# holders of a load-time variable's value listed in the error
_MAX_HOLDERS = 8


class ConfigKeyError(KeyError):
    """A ``--cfg-options`` key whose path does not exist in the config, or
    whose top-level key is a variable that nothing reads any more."""

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


def runtime_keys() -> frozenset:
    """Top-level config keys that are read after the config is loaded: the
    arguments of mmengine's ``Runner`` (``Runner.from_cfg`` passes each key
    of that name) and :data:`RUNTIME_KEYS`."""
    params = set(inspect.signature(Runner.__init__).parameters)
    return frozenset((params - {'self', 'cfg'}) | RUNTIME_KEYS)


def check_cfg_options(cfg: Config, options: Mapping[str, Any]) -> None:
    """Refuse ``--cfg-options`` keys that would change nothing.

    mmengine silently adds unknown keys, so a typo such as
    ``model.detector.backbone.dept=18`` would be ignored. This raises
    instead, naming the key and the closest existing names. A top-level
    key that exists but is not read after loading (:func:`runtime_keys`)
    is a variable of the config files (``max_epochs = 4``, ``data_root``),
    used only while they were read (``{{_base_.data_root}}``,
    ``dict(max_epochs=max_epochs)``): overriding it changes nothing, so
    that is an error too, naming the keys that hold its value.

    Raises:
        ConfigKeyError: For the first such key.
    """
    # mmengine's Config wraps a ConfigDict (a dict) without being a Mapping
    cfg = cfg._cfg_dict if isinstance(cfg, Config) else cfg
    live = runtime_keys()
    for key in options:
        missing = missing_key(cfg, key)
        if missing is None:
            top = key.split('.')[0]
            if top not in live:
                raise ConfigKeyError(_load_time_message(cfg, key, top, live))
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


def _load_time_message(cfg: Mapping, key: str, var: str,
                       live: frozenset) -> str:
    holders = value_holders(cfg, cfg[var], var, live)
    if holders:
        shown = ', '.join(holders[:_MAX_HOLDERS])
        more = len(holders) - _MAX_HOLDERS
        shown += f' (and {more} more)' if more > 0 else ''
        instead = f'set the keys that hold its value instead: {shown}'
    else:
        instead = ('no key holds its value as is: find where the config '
                   f'files use "{var}" and set those keys instead')
    return (f'--cfg-options key "{key}": the top-level "{var}" is a variable '
            'of the config files, used only while they were read '
            f'({{{{_base_.{var}}}}}, or a value computed from it), so '
            f'changing it changes nothing; {instead} (--allow-new-keys '
            'merges it anyway, for a tool of your own that reads it)')


def _iter_values(node: Any, path: str) -> Iterator[Tuple[str, Any]]:
    """(dotted path, value) of ``node`` and everything below it."""
    yield path, node
    names = _children(node) or []
    for name in names:
        yield from _iter_values(_child(node, name),
                                f'{path}.{name}' if path else name)


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same kind (a tuple and a list count as one,
    ``True`` is not ``1``)."""
    seq = (list, tuple)
    if isinstance(a, seq) and isinstance(b, seq):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def value_holders(cfg: Mapping, value: Any, name: str,
                  live: Iterable[str]) -> List[str]:
    """Dotted keys under the ``live`` top-level keys of ``cfg`` that hold
    ``value`` (a string also where it is a part of a longer string: a path
    under ``data_root``); keys whose last name is ``name`` first, and for a
    number or None only those when there are any."""
    found = []
    for top in sorted(k for k in cfg if k in live):
        for path, v in _iter_values(cfg[top], top):
            derived = isinstance(value, str) and len(value) > 1 and \
                isinstance(v, str) and value in v
            if _same(v, value) or derived:
                found.append(path)
    # a holder inside another (a dict equal to the variable) is left out
    found = [p for p in found
             if not any(p.startswith(q + '.') for q in found)]
    named = [p for p in found if p.rsplit('.', 1)[-1] == name]
    if named and (value is None or isinstance(value, (bool, int, float))):
        return named  # ``4`` or ``None`` elsewhere is most likely unrelated
    return named + [p for p in found if p not in named]


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
