"""NVIDIA's measured kernel database (PyPI ``aiconfigurator-core``), read into plain numpy.

The database is an optional extra (``pip install 'specroof[kernels]'``): it brings pandas and
pyarrow, which the core package must not need, so they are imported only when a table is read.
Its tables live at ``aiconfigurator_core/systems/data/<gpu>/<dir>/<engine>/<version>/<file>``;
times there are milliseconds per call and we convert them to microseconds. See
``docs/kernels-data.md`` for what each column means.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import specroof.kernels.schema as schema
from specroof.errors import SpecroofError, suggest

INSTALL_HINT = "pip install 'specroof[kernels]'"

# family -> (directory under <gpu>, parquet file name)
_TABLES = {
    "gemm": ("gemm", "gemm_perf.parquet"),
    "decode_attention": ("attention", "generation_attention_perf.parquet"),
    "context_attention": ("attention", "context_attention_perf.parquet"),
    schema.ALLREDUCE: ("comm", "custom_allreduce_perf.parquet"),
    "moe": ("moe", "moe_perf.parquet"),
    schema.GDN: ("linear_attention", "gdn_perf.parquet"),  # --- linear attention
    schema.KDA: ("kda", "kda_perf.parquet"),
    schema.MAMBA2: ("linear_attention", "mamba2_perf.parquet"),
    "mla_decode": ("mla", "generation_mla_perf.parquet"),  # --- MLA
    "mla_module": ("mla", "mla_generation_module_perf.parquet"),
    "dsa_module": ("sparse_attention", "dsa_generation_module_perf.parquet"),
    schema.MLA_BMM: (schema.MLA_BMM, "mla_bmm_perf.parquet"),
}
MODULE_MODELS = {"mla_module": "deepseek-ai/DeepSeek-V3", "dsa_module": "deepseek-ai/DeepSeek-V3.2"}
"""The model whose attention layer a module family keeps (the shapes the MLA builder is checked on)."""
# NCCL all-reduce is measured once per GPU, not per engine; it appears as engine "nccl".
_NCCL = ("comm", "nccl_perf.parquet")


@dataclass(frozen=True)
class Table:
    gpu: str
    engine: str
    version: str
    family: str
    path: Path


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The ``systems/data`` directory of the installed aiconfigurator-core (or ``root``)."""
    if root is None:
        root = os.environ.get("SPECROOF_KERNELS_DATA")
    if root is not None:
        path = Path(root)
        if not path.is_dir():
            raise SpecroofError(f"kernel database directory {path} does not exist")
        return path
    spec = importlib.util.find_spec("aiconfigurator_core")  # finds without importing it
    if spec is None or not spec.submodule_search_locations:
        raise SpecroofError(f"NVIDIA's kernel database is not installed; {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / "systems" / "data"
    if not path.is_dir():
        raise SpecroofError(f"aiconfigurator-core is installed but has no {path}; {INSTALL_HINT}")
    return path


def version_key(version: str) -> tuple:
    """Sort key for '1.3.0rc20', '0.5.6.post2', '2.23': release numbers, then rc < final < post."""
    v = version.lower()
    nums = [int(x) for x in re.findall(r"\d+", v.split("rc")[0].split("post")[0].split("dev")[0])]
    if "rc" in v or "dev" in v:
        stage, extra = 0, int((re.findall(r"(\d+)$", v) or ["0"])[0])
    elif "post" in v:
        stage, extra = 2, int((re.findall(r"(\d+)$", v) or ["0"])[0])
    else:
        stage, extra = 1, 0
    return (nums, stage, extra)


def _tables(root: Path) -> list[Table]:
    out = []
    for gpu_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for family, (sub, fname) in _TABLES.items():
            for engine_dir in sorted((gpu_dir / sub).glob("*")):
                if engine_dir.name not in schema.BACKENDS:
                    continue
                for vdir in sorted(engine_dir.iterdir()):
                    if (vdir / fname).is_file():
                        out.append(Table(gpu_dir.name, engine_dir.name, vdir.name, family, vdir / fname))
        for vdir in sorted((gpu_dir / _NCCL[0] / "nccl").glob("*")):
            if (vdir / _NCCL[1]).is_file():
                out.append(Table(gpu_dir.name, "nccl", vdir.name, schema.ALLREDUCE, vdir / _NCCL[1]))
    return out


def listing(root: str | os.PathLike | None = None) -> dict[str, dict[str, dict[str, list[str]]]]:
    """``{gpu: {engine: {family: [versions, oldest first]}}}`` of what the database holds."""
    out: dict[str, dict[str, dict[str, list[str]]]] = {}
    for t in _tables(data_root(root)):
        out.setdefault(t.gpu, {}).setdefault(t.engine, {}).setdefault(t.family, []).append(t.version)
    for engines in out.values():
        for fams in engines.values():
            for fam, versions in fams.items():
                fams[fam] = sorted(versions, key=version_key)
    return out


def _current_versions(root: Path) -> dict:
    """The database's own 'current' version per (gpu, engine): systems/query_versions.yaml, and
    for engine 'nccl' the ``misc.nccl_version`` of systems/<gpu>.yaml."""
    path = root.parent / "query_versions.yaml"
    if not path.is_file():
        return {}
    try:
        import yaml  # a dependency of aiconfigurator-core
    except ImportError:
        return {}
    doc = yaml.safe_load(path.read_text()) or {}
    out = {}
    defaults = {e: (v or {}).get("current") for e, v in (doc.get("defaults") or {}).items()}
    for gpu_dir in root.iterdir():
        over = (doc.get("overrides") or {}).get(gpu_dir.name) or {}
        for engine, current in defaults.items():
            out[(gpu_dir.name, engine)] = (over.get(engine) or {}).get("current", current)
        spec = root.parent / f"{gpu_dir.name}.yaml"  # the GPU's system file names its NCCL version
        if spec.is_file():
            misc = (yaml.safe_load(spec.read_text()) or {}).get("misc") or {}
            if misc.get("nccl_version"):
                out[(gpu_dir.name, "nccl")] = str(misc["nccl_version"])
    return out


def find_table(gpu: str, engine: str, family: str, version: str | None = None,
               root: str | os.PathLike | None = None) -> Table:
    """The table for (gpu, engine, family); ``version`` None picks the database's current one.

    Unknown names raise SpecroofError listing what is present.
    """
    base = data_root(root)
    if family not in _TABLES:
        raise SpecroofError(f"unknown kernel family {family!r}{suggest(family, _TABLES)}; "
                            f"known: {', '.join(_TABLES)}")
    tables = _tables(base)
    gpus = sorted({t.gpu for t in tables})
    if gpu not in gpus:
        raise SpecroofError(f"GPU {gpu!r} is not in the kernel database{suggest(gpu, gpus)}; "
                            f"present: {', '.join(gpus)}")
    here = [t for t in tables if t.gpu == gpu and t.family == family]
    engines = sorted({t.engine for t in here})
    if engine not in engines:
        raise SpecroofError(f"no {family} tables for engine {engine!r} on {gpu}{suggest(engine, engines)}; "
                            f"engines present: {', '.join(engines) or 'none'}")
    here = sorted((t for t in here if t.engine == engine), key=lambda t: version_key(t.version))
    if version is None:
        current = _current_versions(base).get((gpu, engine))
        chosen = [t for t in here if t.version == current] or here[-1:]
        return chosen[0]
    for t in here:
        if t.version == version:
            return t
    raise SpecroofError(f"{gpu} {engine} {family} has no version {version!r}; "
                        f"versions present: {', '.join(t.version for t in here)}")


def _pandas():
    """pandas, with pyarrow to read parquet (both come with the ``kernels`` extra)."""
    from importlib.util import find_spec

    if find_spec("pandas") is None or find_spec("pyarrow") is None:
        raise SpecroofError(f"reading the kernel database needs pandas and pyarrow; {INSTALL_HINT}")
    import pandas

    return pandas


def _col(df, name, default):
    return df[name].to_numpy() if name in df.columns else np.full(len(df), default)


def normalize(family: str, df, engine: str) -> np.ndarray:
    """Rename, filter and convert one raw table (a pandas DataFrame) to the normalized schema."""
    lat = df["latency"].to_numpy(dtype=float) * 1e3  # ms -> us
    kernel = _col(df, "kernel_source", "")
    if family == "gemm":
        cols = dict(kernel=kernel, dtype=[schema.normalize_dtype(x) for x in df["gemm_dtype"]],
                    m=df["m"], n=df["n"], k=df["k"], latency_us=lat)
    elif family in ("decode_attention", "context_attention"):
        cols = dict(kernel=kernel, batch=df["batch_size"],
                    num_heads=df["num_heads"], num_kv_heads=df["num_key_value_heads"], head_dim=df["head_dim"],
                    kv_dtype=[schema.normalize_dtype(x) for x in df["kv_cache_dtype"]],
                    window=_col(df, "window_size", 0), latency_us=lat)
        if family == "decode_attention":
            cols["kv_len"] = df["isl"].to_numpy() + df["step"].to_numpy()
        else:
            cols["seq_len"] = df["isl"]
            cols["prefix"] = df["step"]
    elif family == schema.ALLREDUCE:
        keep = (df["op_name"] == "all_reduce").to_numpy()
        df, lat, kernel = df[keep], lat[keep], kernel[keep]
        dtcol = "nccl_dtype" if "nccl_dtype" in df.columns else "allreduce_dtype"
        dtypes = [schema.normalize_dtype(x) for x in df[dtcol]]
        nbytes = df["message_size"].to_numpy() * np.array([schema.DTYPE_BYTES[d] for d in dtypes], dtype=np.int64)
        if engine == "nccl":
            kind = np.full(len(df), "nccl")
        elif "backend" in df.columns:
            kind = df["backend"].to_numpy()
        elif "implementation" in df.columns:
            kind = df["implementation"].to_numpy()
        else:
            kind = np.full(len(df), engine)
        cols = dict(kind=kind, kernel=kernel, dtype=dtypes, num_gpus=df["num_gpus"],
                    message_bytes=nbytes, latency_us=lat)
    elif family == "moe":
        cols = dict(kernel=kernel, dtype=[schema.normalize_dtype(x) for x in df["moe_dtype"]],
                    num_tokens=df["num_tokens"], hidden=df["hidden_size"], inter=df["inter_size"],
                    topk=df["topk"], num_experts=df["num_experts"], tp=df["moe_tp_size"], ep=df["moe_ep_size"],
                    distribution=df["distribution"], latency_us=lat)
    elif family in schema.LINEAR_FAMILIES:  # --- linear attention
        cols = _linear_columns(df, kernel, lat)
    elif family in ("mla_decode", "mla_module", "dsa_module"):  # --- MLA: num_heads is the heads on the GPU (128 / tp_size)
        if family in MODULE_MODELS:  # the module tables of other models (GLM-5) have other shapes
            keep = (df["model"] == MODULE_MODELS[family]).to_numpy()
            df, lat, kernel = df[keep], lat[keep], kernel[keep]
        cols = dict(kernel=kernel, batch=df["batch_size"], kv_len=df["isl"].to_numpy() + df["step"].to_numpy(),
                    num_heads=df["num_heads"], kv_dtype=[schema.normalize_dtype(x) for x in df["kv_cache_dtype"]],
                    latency_us=lat)
        if family in ("mla_module", "dsa_module"):
            cols["dtype"] = [schema.normalize_dtype(x) for x in df["gemm_type"]]
    elif family == schema.MLA_BMM:  # --- MLA: op_name mla_gen_pre / mla_gen_post
        cols = dict(kernel=kernel, op=["pre" if "pre" in str(x) else "post" for x in df["op_name"]],
                    dtype=[schema.normalize_dtype(x) for x in df["bmm_dtype"]], num_tokens=df["num_tokens"],
                    num_heads=df["num_heads"], latency_us=lat)
    else:  # pragma: no cover - guarded by find_table
        raise SpecroofError(f"unknown kernel family {family!r}")
    return schema.from_columns(family, {k: np.asarray(v) for k, v in cols.items()})


def _linear_columns(df, kernel, lat) -> dict:
    """A GDN / KDA / Mamba-2 table's columns (Mamba-2's groups and state size as key heads and width)."""
    mamba = "nheads" in df.columns
    k_heads, k_dim, v_heads, v_dim = (("n_groups", "d_state", "nheads", "head_dim") if mamba else
                                      ("num_k_heads", "head_k_dim", "num_v_heads", "head_v_dim"))
    return dict(kernel=kernel, phase=df["phase"], batch=df["batch_size"], seq_len=df["seq_len"],
                num_tokens=df["num_tokens"], d_model=df["d_model"], num_k_heads=df[k_heads], head_k_dim=df[k_dim],
                num_v_heads=df[v_heads], head_v_dim=df[v_dim], d_conv=df["d_conv"], latency_us=lat)


def load(gpu: str, engine: str, family: str, version: str | None = None,
         root: str | os.PathLike | None = None) -> np.ndarray:
    """One measured table as a numpy structured array in the normalized schema (see schema.py)."""
    table = find_table(gpu, engine, family, version, root)
    pandas = _pandas()
    try:
        df = pandas.read_parquet(table.path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise SpecroofError(f"cannot read {table.path}: {exc}") from None
    return normalize(family, df, engine)
