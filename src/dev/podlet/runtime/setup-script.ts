// The shell step between `unshare` and the container program: it runs inside the container's own
// mount and UTS namespaces (mount propagation private), so nothing it mounts is seen by the host.
//
//   sh -c SETUP_SCRIPT kg-setup HOSTNAME WORKDIR SCRATCH N  (HOSTPATH MOUNTPATH ro|rw)×N  PROGRAM…
//
// It sets the hostname, makes each mount visible at its mountPath, changes into WORKDIR and execs
// PROGRAM (same pid). A mountPath (or WORKDIR) missing on the host is created only inside this
// namespace: the deepest existing ancestor gets an overlay whose upper and work dirs live in a tmpfs
// (mounted on SCRATCH, an empty folder, and lazily unmounted again before the exec); mounts below
// that ancestor are bound back on top of the overlay, since overlayfs shows only one filesystem.
// Exceptions: a mount point missing inside a folder volume mounted earlier is made in that volume
// (as runc does; an overlay would hide the container's writes from the volume). A missing top-level
// folder (a mountPath such as /data) needs a new root: an overlay on / would not be seen (a
// process's root stays the mount below it), so the whole root is overlaid at SCRATCH/N/root, every
// path below is made and mounted there, and PROGRAM is exec'd through chroot into it (exec into
// the container then enters its root too: nsenter --root).
// Failures print `kubegate runtime: …` on stderr and exit with SETUP_FAILED_EXIT.

/** Exit code of a container whose namespace setup failed (like a CRI StartError). */
export const SETUP_FAILED_EXIT = 128;

export const SETUP_SCRIPT = `
set -u
die() { echo "kubegate runtime: $*" >&2; exit ${SETUP_FAILED_EXIT}; }
hn=$1 wd=$2 scratch=$3 n=$4
shift 4
if [ -n "$hn" ]; then printf %s "$hn" > /proc/sys/kernel/hostname || die "cannot set hostname $hn"; fi
overlaid=""
volumes=""
layers=0
# under LIST DIR: DIR is below one of the newline-separated folders of LIST and on the same
# filesystem (not on something else mounted further down).
under() {
  old_ifs=$IFS
  IFS='
'
  for o in $1; do
    case "$2/" in
      "$o"/*) if [ "$(stat -c %d "$2")" = "$(stat -c %d "$o")" ]; then IFS=$old_ifs; return 0; fi ;;
    esac
  done
  IFS=$old_ifs
  return 1
}
layer() {
  if [ "$layers" = 0 ]; then
    mount -t tmpfs -o mode=0700 kg-scratch "$scratch" || die "cannot mount a tmpfs on $scratch"
  fi
  layers=$((layers + 1))
  d="$scratch/$layers"
  mkdir -p "$d/lower" "$d/upper" "$d/work" "$d/root" || die "cannot create overlay dirs in $d"
}
# reroot: R becomes an overlay of the whole root, with every mount below / bound back into it.
R=""
reroot() {
  [ -z "$R" ] || return 0
  layer
  subs=$(awk -v s="$scratch/" '
    { m = $5; if (m == "/" || index(m "/", s) == 1) next
      for (i = 0; i < n; i++) if (index(m "/", done[i] "/") == 1) next
      done[n++] = m; print m }' /proc/self/mountinfo)
  mount --rbind / "$d/lower" || die "cannot bind /"
  mount -t overlay kg-root -o "lowerdir=$d/lower,upperdir=$d/upper,workdir=$d/work" "$d/root" ||
    die "cannot mount an overlay of /"
  old_ifs=$IFS
  IFS='
'
  for m in $subs; do
    mount --rbind "$d/lower$m" "$d/root$m" || die "cannot bind $m into the new root"
  done
  IFS=$old_ifs
  R="$d/root"
  overlaid="$overlaid
$R"
}
# top_missing PATH: the top-level folder of PATH is missing on the host.
top_missing() {
  t=\${1#/}
  [ ! -e "/\${t%%/*}" ]
}
overlay() {
  layer
  if [ "$1" = / ]; then pre=/; else pre="$1/"; fi
  subs=$(awk -v a="$1" -v pre="$pre" -v s="$scratch/" '
    { m = $5; if (m == a || index(m, pre) != 1 || index(m "/", s) == 1) next
      for (i = 0; i < n; i++) if (index(m "/", done[i] "/") == 1) next
      done[n++] = m; print m }' /proc/self/mountinfo)
  mount --rbind "$1" "$d/lower" || die "cannot bind $1"
  mount -t overlay kg-overlay -o "lowerdir=$d/lower,upperdir=$d/upper,workdir=$d/work" "$1" ||
    die "cannot mount an overlay on $1"
  old_ifs=$IFS
  IFS='
'
  for m in $subs; do
    mount --rbind "$d/lower/\${m#"$pre"}" "$m" || die "cannot bind $m back over the overlay on $1"
  done
  IFS=$old_ifs
  overlaid="$overlaid
$1"
}
# ensure PATH dir|file: PATH exists inside this namespace, created through an overlay when missing.
ensure() {
  [ -e "$1" ] && return 0
  a=$(dirname "$1")
  while [ ! -e "$a" ]; do a=$(dirname "$a"); done
  a=$(realpath "$a") || die "cannot resolve $a"
  [ -d "$a" ] || die "$a is not a directory (making room for $1)"
  # An overlay on / would not be seen: such paths are made in the new root (reroot, first).
  [ "$a" != / ] || die "cannot create $1 outside the new root"
  # In one of our overlays: no host change. In a volume bound here: the mount point is made in the
  # volume, as runc does. Anywhere else: an overlay first, so the host stays as it is.
  under "$overlaid" "$a" || under "$volumes" "$a" || overlay "$a"
  if [ "$2" = dir ]; then
    mkdir -p "$1" || die "cannot create $1"
  else
    mkdir -p "$(dirname "$1")" && : > "$1" || die "cannot create $1"
  fi
}
k=0
for arg in "$@"; do
  [ "$k" -lt $((n * 3)) ] || break
  if [ $((k % 3)) = 1 ] && top_missing "$arg"; then reroot; fi
  k=$((k + 1))
done
if [ -n "$wd" ] && top_missing "$wd"; then reroot; fi
while [ "$n" -gt 0 ]; do
  host=$1 path=$R$2 mode=$3
  shift 3
  n=$((n - 1))
  [ -e "$host" ] || die "mount source $host does not exist"
  if [ -d "$host" ]; then ensure "$path" dir; else ensure "$path" file; fi
  mount --bind "$host" "$path" || die "cannot bind $host at $path"
  if [ -d "$host" ]; then volumes="$volumes
$(realpath "$path")"; fi
  if [ "$mode" = ro ]; then mount -o remount,bind,ro "$path" || die "cannot make $path read-only"; fi
done
if [ -n "$R" ]; then
  [ -z "$wd" ] || ensure "$R$wd" dir
  # The new root lives on the scratch tmpfs, so that stays mounted (seen only from outside R).
  exec chroot "$R" /bin/sh -c 'cd "$1" || { echo "kubegate runtime: cannot change into working directory $1" >&2; exit ${SETUP_FAILED_EXIT}; }; shift; exec "$@"' kg-chroot "\${wd:-/}" "$@"
fi
if [ -n "$wd" ]; then
  ensure "$wd" dir
  cd "$wd" || die "cannot change into working directory $wd"
fi
if [ "$layers" != 0 ]; then umount -l "$scratch" || die "cannot unmount $scratch"; fi
rmdir "$scratch" 2>/dev/null
exec "$@"
`;
