#!/usr/bin/env python3
"""Real W8A8 checkpoints of stories260K written by upstream tools' own code.

Writes cases/third_party/stories260K/:
  calibration_tokens.json            16 x 128 token ids sampled from the float model
  llmcompressor_w8a8/                llm-compressor oneshot, SmoothQuant 0.8 + preset W8A8
  llmcompressor_w8a8_static_tensor/  same smoothing, int8 per-tensor weights + static
                                     per-tensor input activations (config_groups)
  lmdeploy_smooth_quant/             lmdeploy lite smooth_quant pipeline (CPU replay)

Usage (from the repository root, with the venv run.sh builds):
  /tmp/upstream-venv/bin/python scripts/third_party_checkpoints/generate.py [--model DIR]
      [--out DIR] [--only tokens|llmcompressor_w8a8|llmcompressor_w8a8_static_tensor|lmdeploy]

Each fixture runs in its own child process (upstream keeps global state: llm-compressor's
session, lmdeploy's observer registry), one CPU thread, ATEN_CPU_CAPABILITY=default.
See cases/third_party/README.md for what each step calls and the formats written.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

# reproducible CPU kernels, as scripts/upstream_known_answers does
os.environ.setdefault("ATEN_CPU_CAPABILITY", "default")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import torch  # noqa: E402

torch.set_num_threads(1)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_MODEL_DIR = os.path.join(REPO_ROOT, "..", "shared", "checkpoints", "stories260K", "hf")
DEFAULT_OUT = os.path.join(REPO_ROOT, "cases", "third_party", "stories260K")
GENERATOR = "scripts/third_party_checkpoints/generate.py"

NUM_SEQUENCES = 16
SEQ_LEN = 128
SEED = 0
BOS = 1
LLMC_ALPHA = 0.8

STEPS = ["tokens", "llmcompressor_w8a8", "llmcompressor_w8a8_static_tensor", "lmdeploy"]


# ----------------------------------------------------------------------------
# calibration tokens
# ----------------------------------------------------------------------------

def load_float_model(model_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.eval()
    return model


@torch.no_grad()
def sample_tokens(model_dir):
    """Ancestral sampling (temperature 1, full softmax) from the float model."""
    model = load_float_model(model_dir)
    gen = torch.Generator().manual_seed(SEED)
    ids = torch.full((NUM_SEQUENCES, 1), BOS, dtype=torch.long)
    for _ in range(SEQ_LEN - 1):
        logits = model(input_ids=ids, use_cache=False).logits[:, -1, :].float()
        probs = torch.softmax(logits, dim=-1)
        nxt = torch.multinomial(probs, 1, generator=gen)
        ids = torch.cat([ids, nxt], dim=1)
    return ids.tolist()


def write_tokens(model_dir, out_dir):
    seqs = sample_tokens(model_dir)
    doc = {
        "generator": GENERATOR,
        "model": "stories260K (float32, ../shared/checkpoints/stories260K/hf)",
        "how": ("ancestral sampling from the float32 model with transformers' LlamaForCausalLM: "
                "each sequence starts with BOS=1; every next token = torch.multinomial(softmax(logits of "
                "the last position, float32), 1) with one torch.Generator seeded 0, the 16 sequences "
                "advanced together as a batch, no KV cache"),
        "num_sequences": NUM_SEQUENCES,
        "seq_len": SEQ_LEN,
        "seed": SEED,
        "bos_token_id": BOS,
        "sequences": seqs,
    }
    path = os.path.join(out_dir, "calibration_tokens.json")
    text = json.dumps(doc, indent=1)
    # one sequence per line
    lines = ["{"]
    keys = [k for k in doc if k != "sequences"]
    for k in keys:
        lines.append(f" {json.dumps(k)}: {json.dumps(doc[k])},")
    lines.append(' "sequences": [')
    for i, s in enumerate(seqs):
        lines.append("  " + json.dumps(s, separators=(",", ":")) + ("," if i + 1 < len(seqs) else ""))
    lines.append(" ]")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == doc
    with open(path, "w") as f:
        f.write(text)
    print(f"wrote {path}")


def read_tokens(out_dir):
    with open(os.path.join(out_dir, "calibration_tokens.json")) as f:
        doc = json.load(f)
    seqs = doc["sequences"]
    assert len(seqs) == NUM_SEQUENCES and all(len(s) == SEQ_LEN and s[0] == BOS for s in seqs)
    return seqs


# ----------------------------------------------------------------------------
# llm-compressor
# ----------------------------------------------------------------------------

def minimal_tokenizer():
    """A word-level tokenizer over the 512 ids, only so that oneshot has a processor.

    The calibration set is already tokenised (an `input_ids` column), so llm-compressor
    never tokenises with it (datasets/utils.py get_processed_dataset returns a dataset
    with input_ids unchanged); pre_process raises without one when a dataset is given.
    """
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for i in range(3, 512):
        vocab[f"t{i}"] = i
    tok = Tokenizer(WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>",
                                   eos_token="</s>", pad_token="</s>")


def llmc_recipe(variant):
    from llmcompressor.modifiers.quantization import QuantizationModifier
    from llmcompressor.modifiers.transform.smoothquant import SmoothQuantModifier

    smooth = SmoothQuantModifier(smoothing_strength=LLMC_ALPHA)
    if variant == "llmcompressor_w8a8":
        quant = QuantizationModifier(targets="Linear", scheme="W8A8", ignore=["lm_head"])
    elif variant == "llmcompressor_w8a8_static_tensor":
        int8_tensor = {"num_bits": 8, "type": "int", "symmetric": True, "strategy": "tensor",
                       "dynamic": False}
        quant = QuantizationModifier(
            config_groups={"group_0": {"targets": ["Linear"], "weights": dict(int8_tensor),
                                       "input_activations": dict(int8_tensor)}},
            ignore=["lm_head"])
    else:
        raise ValueError(variant)
    return [smooth, quant]


def run_llmcompressor(variant, model_dir, out_dir):
    from datasets import Dataset
    from llmcompressor import oneshot

    seqs = read_tokens(out_dir)
    ds = Dataset.from_dict({"input_ids": seqs, "attention_mask": [[1] * SEQ_LEN for _ in seqs]})
    model = load_float_model(model_dir)
    dest = os.path.join(out_dir, variant)
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        oneshot(model=model, processor=minimal_tokenizer(), dataset=ds, recipe=llmc_recipe(variant),
                num_calibration_samples=NUM_SEQUENCES, max_seq_length=SEQ_LEN,
                shuffle_calibration_samples=False, batch_size=1,
                output_dir=tmp, save_compressed=True)
        written = sorted(os.listdir(tmp))
        print(f"{variant}: oneshot wrote {written}")
        if os.path.isdir(dest):
            shutil.rmtree(dest)
        os.makedirs(dest)
        keep = ["config.json", "model.safetensors", "recipe.yaml"]
        for name in keep:
            if name in written:
                shutil.copyfile(os.path.join(tmp, name), os.path.join(dest, name))
        dropped = [n for n in written if n not in keep]
        print(f"{variant}: kept {[n for n in keep if n in written]}, dropped {dropped}")


# ----------------------------------------------------------------------------
# lmdeploy
# ----------------------------------------------------------------------------

def run_lmdeploy(model_dir, out_dir):
    from pathlib import Path

    from torch import nn

    from lmdeploy.lite.apis.calibrate import HEAD_NAME_MAP, LAYER_TYPE_MAP, NORM_TYPE_MAP, _prepare_for_calibrate
    from lmdeploy.lite.model import MODELS
    from lmdeploy.lite.quantization import CalibrationContext
    from lmdeploy.lite.quantization.awq import FC_FCS_MAP, NORM_FCS_MAP, skipped_module, smooth_fc_fcs, smooth_ln_fcs
    from lmdeploy.lite.utils import collect_target_modules, load_hf_from_pretrained
    from lmdeploy.pytorch.models import QLinear, QRMSNorm

    # calibrate.py / calibration.py / awq.py call torch.cuda.empty_cache() (a no-op without
    # CUDA) and print torch.cuda.max_memory_allocated(device='cpu'), which raises on a
    # machine without CUDA. Only that query is replaced (it feeds a print, nothing else).
    torch.cuda.max_memory_allocated = lambda *a, **k: 0

    device = "cpu"
    seqs = read_tokens(out_dir)
    dest = Path(out_dir) / "lmdeploy_smooth_quant"
    if dest.is_dir():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)

    # calibrate() (lite/apis/calibrate.py), minus AutoTokenizer and get_calib_loaders:
    model = load_hf_from_pretrained(model_dir, dtype="auto")
    model_type = type(model).__name__
    layer_type = LAYER_TYPE_MAP[model_type]
    norm_type = NORM_TYPE_MAP[model_type]
    _prepare_for_calibrate(model, layer_type, HEAD_NAME_MAP[model_type], device)
    calib_ctx = CalibrationContext(model, None, layer_type=layer_type, norm_type=norm_type,
                                   batch_size=1, device=device)
    calib_loader = [torch.tensor([s], dtype=torch.long) for s in seqs]   # [1, seqlen] each
    with calib_ctx:
        all_data = torch.cat(calib_loader).to(device)
        calib_ctx.calibrate(all_data)
    with tempfile.TemporaryDirectory() as tmp:
        calib_ctx.export(Path(tmp))
        shutil.copyfile(Path(tmp) / "inputs_stats.pth", dest / "inputs_stats.pth")
        print(f"lmdeploy: export wrote {sorted(os.listdir(tmp))}; kept inputs_stats.pth")

    # smooth_quant() (lite/apis/smooth_quant.py) from the torch.load of the stats on:
    inp_stats = torch.load(dest / "inputs_stats.pth", weights_only=True)
    act_scales = inp_stats["absmax"]
    fc2fcs = FC_FCS_MAP[layer_type]
    norm2fcs = NORM_FCS_MAP[layer_type]
    layers = collect_target_modules(model, layer_type)
    fcs = {}
    for l_name, layer in layers.items():
        fcs.update(collect_target_modules(layer, nn.Linear, prefix=l_name))

    # smooth_layers(layers, fc2fcs, norm2fcs, act_scales, -1, device): its loop body
    # (awq.py smooth_layers), without layer.to(device)/CUDA memory print. Default alpha.
    groups = []
    for l_name, layer in layers.items():
        submodule_names = [name for name, _ in layer.named_modules()]
        for ln_name, fc_names in norm2fcs.items():
            a_name = [f"{l_name}.{n}" for n in fc_names if n in submodule_names][0]
            ln = layer.get_submodule(ln_name)
            group = [layer.get_submodule(n) for n in fc_names if n in submodule_names]
            s = smooth_ln_fcs(ln, group, act_scales[a_name], -1)
            groups.append((f"{l_name}.{ln_name}", fc_names, a_name, s is not None))
        for f_name, fc_names in fc2fcs.items():
            a_name = [f"{l_name}.{n}" for n in fc_names if n in submodule_names][0]
            fc = layer.get_submodule(f_name)
            group = [layer.get_submodule(n) for n in fc_names if n in submodule_names]
            s = smooth_fc_fcs(fc, group, act_scales[a_name], -1)
            groups.append((f"{l_name}.{f_name}", fc_names, a_name, s is not None))
    for src, fc_names, a_name, done in groups:
        print(f"lmdeploy: {src} -> {fc_names} (act {a_name}.absmax): {'smoothed' if done else 'skipped'}")

    rmsnorms = collect_target_modules(model, norm_type)
    patterns = []
    skipped_modules = []
    arch = model.config.architectures[0]
    rebuilder = MODELS.get(arch)
    if rebuilder:
        patterns = rebuilder.skipped_modules()
        skipped_modules.extend(patterns)
    quant_dtype = torch.int8
    for modules, q_cls in ((fcs, QLinear), (rmsnorms, QRMSNorm)):
        for name, module in modules.items():
            skipped, skipped_pattern = skipped_module(name, patterns)
            if skipped:
                if skipped_pattern and skipped_pattern not in skipped_modules:
                    skipped_modules.append(skipped_pattern)
                continue
            module.to(device)
            q_module = q_cls.from_float(module, quant_dtype=quant_dtype)
            parent_name, _, child_name = name.rpartition(".")
            parent = model.get_submodule(parent_name)
            setattr(parent, child_name, q_module)
            module.to("cpu")
            q_module.to("cpu")

    quant_dtype_s = str(quant_dtype).split(".")[1]
    quantization_config = dict(quant_method="smooth_quant", quant_dtype=f"{quant_dtype_s}")
    if skipped_modules:
        quantization_config["modules_to_not_convert"] = skipped_modules
    model.config.update(dict(quantization_config=quantization_config))
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        written = sorted(os.listdir(tmp))
        keep = ["config.json", "model.safetensors"]
        for name in keep:
            shutil.copyfile(os.path.join(tmp, name), dest / name)
        print(f"lmdeploy: save_pretrained wrote {written}; kept {keep} (+ inputs_stats.pth)")


# ----------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=DEFAULT_MODEL_DIR)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--only", choices=STEPS)
    args = ap.parse_args()
    model_dir = os.path.abspath(args.model)
    out_dir = os.path.abspath(args.out)
    os.makedirs(out_dir, exist_ok=True)
    if args.only is None:
        for step in STEPS:   # each in a fresh process: upstream keeps global state
            subprocess.run([sys.executable, os.path.abspath(__file__), "--model", model_dir,
                            "--out", out_dir, "--only", step], check=True)
        return
    if args.only == "tokens":
        write_tokens(model_dir, out_dir)
    elif args.only == "lmdeploy":
        run_lmdeploy(model_dir, out_dir)
    else:
        run_llmcompressor(args.only, model_dir, out_dir)


if __name__ == "__main__":
    main()
