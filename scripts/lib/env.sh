# Shared by the scripts: where builds and downloads are cached, outside the clone, so repeated runs
# (and CI on the same machine) are incremental.
if [[ -z ${HALLWAY_CACHE:-} ]]; then
  if mkdir -p /var/cache/hallway 2>/dev/null && [[ -w /var/cache/hallway ]]; then
    HALLWAY_CACHE=/var/cache/hallway
  else
    HALLWAY_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/hallway"
  fi
fi
export HALLWAY_CACHE
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HALLWAY_CACHE/target}"
mkdir -p "$HALLWAY_CACHE" "$CARGO_TARGET_DIR"
