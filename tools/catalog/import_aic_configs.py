"""Write the frontier models' catalog entries from the configs NVIDIA ships in aiconfigurator-core.

aiconfigurator-core 0.12.0 (Apache-2.0) carries each supported checkpoint's Hugging Face
``config.json`` as ``model_configs/<org>--<name>_config.json``. This script copies the keys and
values unchanged into ``src/specroof/models/catalog/<name>.json``, adds ``_source`` (the
checkpoint's Hugging Face URL) and ``_source_note`` (where the copy came from), and changes
nothing else: a catalog entry is the published config, read by the same reader as a user's file.

The entries the database does not carry (GLM-4.5, GLM-4.6, Llama-3.3-70B, Qwen3-Next-80B-A3B)
are written by hand with their sources in ``_source_note``; this script never touches them.

    python tools/catalog/import_aic_configs.py [--root .../aiconfigurator_core/model_configs]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

CATALOG = Path(__file__).resolve().parents[2] / "src" / "specroof" / "models" / "catalog"


def installed_model_configs() -> Path | None:
    """``model_configs/`` of the installed aiconfigurator-core (``pip install 'specroof[kernels]'``),
    found without importing it; None when it is not installed."""
    spec = importlib.util.find_spec("aiconfigurator_core")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations))) / "model_configs"
    return root if root.is_dir() else None


#: catalog name -> (file stem in model_configs/, Hugging Face repository of the checkpoint)
ENTRIES: dict[str, tuple[str, str]] = {
    "deepseek-v3": ("deepseek-ai--DeepSeek-V3", "deepseek-ai/DeepSeek-V3"),
    "deepseek-r1": ("deepseek-ai--DeepSeek-R1", "deepseek-ai/DeepSeek-R1"),
    "deepseek-v3.2": ("deepseek-ai--DeepSeek-V3.2", "deepseek-ai/DeepSeek-V3.2"),
    "kimi-k2": ("moonshotai--Kimi-K2-Instruct", "moonshotai/Kimi-K2-Instruct"),
    "qwen3-30b-a3b": ("Qwen--Qwen3-30B-A3B", "Qwen/Qwen3-30B-A3B"),
    "qwen3-235b-a22b": ("Qwen--Qwen3-235B-A22B", "Qwen/Qwen3-235B-A22B"),
    "gpt-oss-20b": ("openai--gpt-oss-20b", "openai/gpt-oss-20b"),
    "gpt-oss-120b": ("openai--gpt-oss-120b", "openai/gpt-oss-120b"),
    "llama-4-scout": ("meta-llama--Llama-4-Scout-17B-16E-Instruct", "meta-llama/Llama-4-Scout-17B-16E-Instruct"),
    "llama-4-maverick": ("meta-llama--Llama-4-Maverick-17B-128E-Instruct",
                         "meta-llama/Llama-4-Maverick-17B-128E-Instruct"),
    "llama-3.1-405b": ("meta-llama--Meta-Llama-3.1-405B", "meta-llama/Llama-3.1-405B"),
    # MTP models the issue also names (Qwen3.5, MiMo)
    "qwen3.5-35b-a3b": ("Qwen--Qwen3.5-35B-A3B", "Qwen/Qwen3.5-35B-A3B"),
    "qwen3.5-397b-a17b": ("Qwen--Qwen3.5-397B-A17B", "Qwen/Qwen3.5-397B-A17B"),
    "mimo-7b": ("XiaomiMiMo--MiMo-7B-Base", "XiaomiMiMo/MiMo-7B-Base"),
    # dense Qwen3 sizes that published speculative runs use (issue 20, validation set)
    "qwen3-1.7b": ("Qwen--Qwen3-1.7B", "Qwen/Qwen3-1.7B"),
    "qwen3-32b": ("Qwen--Qwen3-32B", "Qwen/Qwen3-32B"),
}

_NOTE = ("keys and values copied unchanged from NVIDIA aiconfigurator-core 0.12.0 (Apache-2.0), "
         "aiconfigurator_core/model_configs/{stem}_config.json, NVIDIA's copy of this checkpoint's "
         "config.json (see models/catalog/NOTICE), which can leave out keys that do not shape inference "
         "(DeepSeek-V3's copy lacks the training-only aux_loss_alpha and seq_aux of the published file); "
         "not compared key by key with the Hugging Face page here")
_NESTED = ("; the copy holds the language model under text_config and leaves out the vision_config and a few "
           "text keys of the published file (no_rope_layers among them: transformers' Llama4TextConfig then "
           "makes every 4th layer a global NoPE layer, no_rope_layer_interval = 4, the pattern Scout's published "
           "list spells out; not checked for Maverick)")


def entry(stem: str, repo: str, root: Path) -> dict[str, object]:
    """One catalog entry: ``_source``, ``_source_note``, then the config's own keys in order."""
    config = json.loads((root / f"{stem}_config.json").read_text(encoding="utf-8"))
    note = _NOTE.format(stem=stem) + (_NESTED if "text_config" in config and "vision_config" not in config else "")
    return {"_source": f"https://huggingface.co/{repo}/blob/main/config.json", "_source_note": note, **config}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=installed_model_configs(),
                        help="aiconfigurator_core/model_configs (default: the installed [kernels] extra's)")
    args = parser.parse_args()
    if args.root is None:
        parser.error("aiconfigurator-core is not installed: pip install 'specroof[kernels]', or pass --root")
    for name, (stem, repo) in ENTRIES.items():
        out = CATALOG / f"{name}.json"
        out.write_text(json.dumps(entry(stem, repo, args.root), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {out.relative_to(CATALOG.parents[3])}")


if __name__ == "__main__":
    main()
