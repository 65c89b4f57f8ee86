#!/usr/bin/env python3
"""One line per test executable from the gtest XML files in a folder: cases run, failed and skipped,
and each distinct reason given for a skip. Used where each executable is one ctest test
(SMOOTHCHECK_TEST_PER_EXECUTABLE: CI and the asan preset), so that skipped cases stay visible."""
import glob
import sys
import xml.etree.ElementTree as ET


def summarize(folder: str, prefix: str) -> int:
    paths = sorted(glob.glob(folder + "/*.xml"))
    if not paths:
        print(f"{prefix}: no gtest XML under {folder}", file=sys.stderr)
        return 1
    for path in paths:
        name = path.rsplit("/", 1)[-1][: -len(".xml")]
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:  # a crashed executable leaves a partial file
            print(f"{prefix}: {name}: unreadable gtest XML ({e})")
            continue
        run = failed = skipped = 0
        reasons = []
        for case in root.iter("testcase"):
            run += 1
            if case.find("failure") is not None:
                failed += 1
            elif case.get("result") == "skipped" or case.find("skipped") is not None:
                skipped += 1
                node = case.find("skipped")
                reason = (node.get("message", "") if node is not None else "").strip().splitlines()
                reason = reason[-1] if reason else "no reason given"
                if reason not in reasons:
                    reasons.append(reason)
        line = f"{prefix}: {name}: {run} cases, {failed} failed, {skipped} skipped"
        if reasons:
            line += " (" + "; ".join(reasons[:3]) + (f"; +{len(reasons) - 3} more" if len(reasons) > 3 else "") + ")"
        print(line)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: gtest_summary.py FOLDER PREFIX", file=sys.stderr)
        sys.exit(2)
    sys.exit(summarize(sys.argv[1], sys.argv[2]))
