"""Executes a notebook headless through nbclient (a real Jupyter client) and reports as JSON.

Run by kernel-setup/execute.ts with the Python that has nbclient:

    python nbexec.py --input IN.ipynb --output OUT.ipynb --kernel mechinterp-ts --cwd DIR

Cells run one at a time so progress can be shown on stderr. The executed notebook is written to
--output even when a cell fails (it then holds the outputs up to and including the failing cell).
The last line on stdout is one JSON object:
    {"ok": bool, "codeCells": int, "executed": int, "seconds": float,
     "error": null | {"cellIndex", "codeCellNumber", "source", "ename", "evalue", "traceback", "stderr"}}
"""
import argparse
import json
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def first_line(source):
    for line in source.splitlines():
        if line.strip():
            return line.strip()
    return ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--cwd", required=True)
    ap.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    ap.add_argument("--startup-timeout", type=int, default=120, help="seconds for the kernel to start")
    args = ap.parse_args()

    nb = nbformat.read(args.input, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=args.kernel,
        timeout=args.timeout,
        startup_timeout=args.startup_timeout,
        allow_errors=False,
        record_timing=True,
        resources={"metadata": {"path": args.cwd}},
    )
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    report = {"ok": True, "codeCells": len(code_cells), "executed": 0, "seconds": 0.0, "error": None}
    start = time.time()
    number = 0
    index = None
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                number += 1
                t0 = time.time()
                print(f"[{number}/{len(code_cells)}] {first_line(cell.source)[:70]}", file=sys.stderr, flush=True)
                client.execute_cell(cell, index, execution_count=number)
                report["executed"] = number
                print(f"      done in {time.time() - t0:.1f}s", file=sys.stderr, flush=True)
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
        cell = nb.cells[index]
        report["ok"] = False
        report["error"] = {
            "cellIndex": index,
            "codeCellNumber": number,
            "source": cell.source,
            "ename": getattr(err, "ename", type(err).__name__),
            "evalue": getattr(err, "evalue", str(err)),
            "traceback": getattr(err, "traceback", str(err)),
            # tslab reports compile and runtime errors on the cell's stderr, with an empty evalue.
            "stderr": "".join(o.get("text", "") for o in cell.get("outputs", [])
                              if o.get("output_type") == "stream" and o.get("name") == "stderr"),
        }
    except Exception as err:  # the kernel did not start, or the client failed outside a cell
        report["ok"] = False
        report["error"] = {
            "cellIndex": None if number == 0 or index is None else index,
            "codeCellNumber": number,
            "source": "" if index is None else nb.cells[index].source,
            "ename": type(err).__name__,
            "evalue": str(err),
            "traceback": "",
            "stderr": "",
        }
    finally:
        report["seconds"] = round(time.time() - start, 3)
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        tmp = args.output + ".tmp-%d" % os.getpid()
        nbformat.write(nb, tmp)
        os.replace(tmp, args.output)
        print(json.dumps(report), flush=True)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
