#!/usr/bin/env bash
# Records tcpdump's packet selections for the filter compiler's differential test (R-BPF-3).
# Needs tcpdump and python3; the test itself needs neither (it reads the recorded answers).
# Usage: scripts/filter-oracle.sh [CAPTURE_DIR]   (default: ../shared/corpus/tcpdump-captures)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
caps=${1:-$here/../../shared/corpus/tcpdump-captures}
command -v tcpdump >/dev/null || { echo "tcpdump not installed (apt-get install tcpdump)" >&2; exit 1; }
exec python3 "$here/filter-oracle.py" "$caps" "$here/../smpnet-core/src/test/resources/org/smpnet/net/bpf"
