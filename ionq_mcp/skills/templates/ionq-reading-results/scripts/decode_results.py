#!/usr/bin/env python3
"""Run with the ionq-mcp package installed (offline): python scripts/decode_results.py FILE.json (or - for stdin).

Prints one JSON object; exit status 1 when the input is invalid. The logic lives in ionq_mcp.skills._scripts,
so this script always applies the rules of the installed ionq-mcp.
"""

import sys

from ionq_mcp.skills._scripts import main

if __name__ == "__main__":
    sys.exit(main("decode_results", sys.argv[1:]))
