"""Executes a notebook headless through nbclient (a real Jupyter client) and reports as JSON.

Run by kernel-setup/execute.ts with the Python that has nbclient:

    python nbexec.py --input IN.ipynb --output OUT.ipynb --kernel mechinterp-ts --cwd DIR

Cells run one at a time so progress can be shown on stderr. With --late-output-grace S (set for
Deno's kernel, which sends a cell's printed output after its "idle" status, where plain nbclient
stops listening and drops it), a cell's outputs that arrive after idle are still recorded: the
client keeps listening S seconds after each cell, outputs of a finished cell arriving during a later
one go to the cell they belong to, and after the last cell it listens a little longer. The executed notebook is written to
--output even when a cell fails (it then holds the outputs up to and including the failing cell).
The last line on stdout is one JSON object:
    {"ok": bool, "codeCells": int, "executed": int, "seconds": float,
     "kernelStartSeconds": float | null, "cellSeconds": [float per executed cell],
     "error": null | {"cellIndex", "codeCellNumber", "source", "ename", "evalue", "traceback", "stderr"}}
"""
import argparse
import json
import os
import sys
import time

import queue

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync


class LateOutputClient(NotebookClient):
    """NotebookClient that also records outputs a kernel sends after a cell's idle status."""

    late_output_grace = 0.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._finished = {}  # msg_id -> (cell, cell_index) of cells already complete
        self.last_idle_at = None  # when the last cell reported idle (its time excludes the grace)

    def _route_late(self, msg):
        target = self._finished.get(msg["parent_header"].get("msg_id"))
        if target is None or msg["header"]["msg_type"] == "status":
            return
        try:
            self.process_message(msg, target[0], target[1])
        except CellExecutionComplete:
            pass

    async def drain_late_output(self, seconds):
        """Records late outputs of finished cells until `seconds` pass with no message."""
        while True:
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=seconds))
            except queue.Empty:
                return
            self._route_late(msg)

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        if self.late_output_grace <= 0:
            return await super()._async_poll_output_msg(parent_msg_id, cell, cell_index)
        while True:
            msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
            if msg["parent_header"].get("msg_id") != parent_msg_id:
                self._route_late(msg)
                continue
            try:
                self.process_message(msg, cell, cell_index)
            except CellExecutionComplete:
                self._finished[parent_msg_id] = (cell, cell_index)
                self.last_idle_at = time.time()
                await self.drain_late_output(self.late_output_grace)
                return


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
    ap.add_argument("--late-output-grace", type=float, default=0.0,
                    help="seconds to keep listening for a cell's outputs after its idle status (Deno)")
    args = ap.parse_args()

    nb = nbformat.read(args.input, as_version=4)
    client = LateOutputClient(
        nb,
        kernel_name=args.kernel,
        timeout=args.timeout,
        startup_timeout=args.startup_timeout,
        allow_errors=False,
        record_timing=True,
        resources={"metadata": {"path": args.cwd}},
    )
    client.late_output_grace = args.late_output_grace
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    report = {"ok": True, "codeCells": len(code_cells), "executed": 0, "seconds": 0.0, "error": None,
              "kernelStartSeconds": None, "cellSeconds": []}
    start = time.time()
    number = 0
    index = None
    try:
        with client.setup_kernel():
            report["kernelStartSeconds"] = round(time.time() - start, 3)
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                number += 1
                t0 = time.time()
                print(f"[{number}/{len(code_cells)}] {first_line(cell.source)[:70]}", file=sys.stderr, flush=True)
                client.last_idle_at = None
                client.execute_cell(cell, index, execution_count=number)
                report["executed"] = number
                report["cellSeconds"].append(round((client.last_idle_at or time.time()) - t0, 3))
                print(f"      done in {time.time() - t0:.1f}s", file=sys.stderr, flush=True)
            if client.late_output_grace > 0:
                run_sync(client.drain_late_output)(max(1.0, 2 * client.late_output_grace))
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
