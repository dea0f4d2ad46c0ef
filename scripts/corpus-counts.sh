#!/usr/bin/env bash
# Regenerates the ground truth the pcap reader's tests compare against (R-BPF-4), from real
# tcpdump and tshark run over ../shared/corpus:
#   tcpdump-counts.txt       "file count rc": tcpdump -r FILE --count, and its exit status
#   pcapng-generator-packets.txt  "dir/file|caplen|len|comments|linktype|epoch" per packet, from tshark
# Needs tcpdump and tshark (apt-get install -y tcpdump tshark).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
corpus="${SMPNET_CORPUS:-$here/../shared/corpus}"
out="$here/smpnet-core/src/test/resources/org/smpnet/net/bpf"
mkdir -p "$out"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

{
  echo "# tcpdump-captures: file, packets counted by 'tcpdump -r FILE --count', exit status"
  echo "# $(tcpdump --version 2>&1 | tr '\n' ' ')"
  cd "$corpus/tcpdump-captures"
  for f in $(ls | grep -E '\.pcap(ng)?$' | LC_ALL=C sort); do
    set +e
    timeout 30 tcpdump -r "$f" --count >"$tmp" 2>/dev/null
    rc=$?
    set -e
    n=$(sed -n 's/^\([0-9]*\) packets\{0,1\}$/\1/p' "$tmp")
    echo "$f ${n:-0} $rc"
  done
} > "$out/tcpdump-counts.txt"

# Wireshark's encapsulation numbers for the link types the generator uses, to LINKTYPE_ values.
linktype() {
  case "$1" in
    1) echo 1 ;;     # Ethernet
    15) echo 0 ;;    # NULL/Loopback
    *) echo "wtap$1" ;;
  esac
}
{
  echo "# pcapng-test-generator: per packet 'dir/file|caplen|len|comments joined by ;|linktype|epoch seconds' from tshark"
  echo "# $(tshark -v 2>/dev/null | head -1)"
  cd "$corpus/pcapng-test-generator"
  for f in $(ls output_*/*/*.pcapng | LC_ALL=C sort); do
    # Rows without an interface are Wireshark's non-packet records (custom blocks, DSB): skip them.
    tshark -r "$f" -T fields -e frame.interface_id -e frame.cap_len -e frame.len -e frame.comment \
        -e frame.encap_type -e frame.time_epoch -E separator='|' -E occurrence=a -E aggregator=';' 2>/dev/null |
      while IFS='|' read -r ifid caplen len comments encap epoch; do
        [ -n "$ifid" ] || continue
        echo "$f|$caplen|$len|$comments|$(linktype "$encap")|$epoch"
      done
  done
} > "$out/pcapng-generator-packets.txt"
echo "wrote $out/tcpdump-counts.txt and $out/pcapng-generator-packets.txt"
