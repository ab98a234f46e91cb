"""``chaos-lab``: the small one-shot actions the runner sends through exec (what were shell strings before).

    chaos-lab links cut|mend|iface ...          see `chaos_inlab.links`
    chaos-lab process list|kill|start|signal ...  see `chaos_inlab.process`

The runner writes these command lines with the ``*_argv`` functions of `chaos_inlab.protocol`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from chaos_inlab import links, process
from chaos_inlab.protocol import TOOL


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["links"]:
        return links.main(args[1:])
    if args[:1] == ["process"]:
        return process.main(args[1:])
    print(f"usage: {TOOL} links ... | {TOOL} process ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
