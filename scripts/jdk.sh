# Sourced by smpnet's scripts: selects a JDK 25+ and exports JAVA_HOME and PATH.
# Honours JAVA_HOME when it is 25 or newer, else looks in /usr/lib/jvm.
smpnet_java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p'
}
smpnet_select_jdk() {
  local cand major
  for cand in "${JAVA_HOME:-}" /usr/lib/jvm/*; do
    [ -n "$cand" ] && [ -x "$cand/bin/java" ] && [ -x "$cand/bin/javac" ] || continue
    major=$(smpnet_java_major "$cand")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then
      export JAVA_HOME="$cand"
      export PATH="$JAVA_HOME/bin:$PATH"
      return 0
    fi
  done
  echo "smpnet: no JDK 25 or newer found (JAVA_HOME or /usr/lib/jvm); install one, e.g. 'apt-get install temurin-25-jdk'" >&2
  return 1
}
smpnet_select_jdk || exit 1
# Maven's own libraries still call sun.misc.Unsafe; keep JDK 25's warnings about that out of our output.
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
