// Package conformance runs the official Gateway API conformance suite against kubegate.
//
// The suite sends HTTP requests straight to Gateway addresses, which exist only inside the local
// lab's network namespaces, so the test binary runs inside the lab's underlay namespace. The
// Kubernetes API (kubegate's gateway in front of kube-apiserver) listens on 127.0.0.1 in the root
// network namespace: the Kubernetes clients dial it there with the dialer below.
package conformance

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// DialFunc is the signature of rest.Config.Dial and http.Transport.DialContext.
type DialFunc = func(ctx context.Context, network, address string) (net.Conn, error)

// NetnsDialer opens connections in another network namespace than the process's own.
type NetnsDialer struct {
	target *os.File // the namespace connections are made in
	home   *os.File // the namespace the process runs in, restored after each dial
	dialer net.Dialer
}

// NewNetnsDialer returns a dialer whose connections are made in the network namespace at path
// (e.g. /proc/<pid>/ns/net or /run/netns/<name>), or nil when that is the process's own.
func NewNetnsDialer(path string) (*NetnsDialer, error) {
	target, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open network namespace: %w", err)
	}
	// All of the process's threads share one namespace, except one inside a dial below (which
	// is locked to its goroutine and so never runs this).
	home, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		target.Close()
		return nil, fmt.Errorf("open own network namespace: %w", err)
	}
	same, err := sameFile(target, home)
	if err != nil || same {
		target.Close()
		home.Close()
		return nil, err
	}
	return &NetnsDialer{
		target: target,
		home:   home,
		// FallbackDelay < 0: no happy-eyeballs racing, whose second attempt would run on another
		// goroutine (and thread, in the home namespace). Name resolution also runs on other
		// goroutines, so the address should be an IP (kubegate dev's kubeconfig says 127.0.0.1).
		dialer: net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, FallbackDelay: -1},
	}, nil
}

// DialContext makes one connection in the target namespace. A socket belongs to the namespace of
// the thread that created it, for its whole life; so the dial runs on a fresh goroutine locked to
// its OS thread, which enters the target namespace and goes back home afterwards.
func (d *NetnsDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(d.target.Fd()), unix.CLONE_NEWNET); err != nil {
			// Not switched (setns changes nothing when it fails): the thread is still clean.
			runtime.UnlockOSThread()
			done <- result{nil, fmt.Errorf("enter network namespace %s: %w", d.target.Name(), err)}
			return
		}
		conn, err := d.dialer.DialContext(ctx, network, address)
		if rerr := unix.Setns(int(d.home.Fd()), unix.CLONE_NEWNET); rerr != nil {
			// The thread stays in the wrong namespace: leave it locked, and Go ends the thread
			// when this goroutine returns instead of reusing it.
			if conn != nil {
				conn.Close()
			}
			done <- result{nil, fmt.Errorf("return to own network namespace: %w", rerr)}
			return
		}
		runtime.UnlockOSThread()
		done <- result{conn, err}
	}()
	r := <-done
	return r.conn, r.err
}

// Dial returns DialContext as a function value, for rest.Config.Dial.
func (d *NetnsDialer) Dial() DialFunc { return d.DialContext }

func sameFile(a, b *os.File) (bool, error) {
	var sa, sb unix.Stat_t
	if err := unix.Fstat(int(a.Fd()), &sa); err != nil {
		return false, fmt.Errorf("stat %s: %w", a.Name(), err)
	}
	if err := unix.Fstat(int(b.Fd()), &sb); err != nil {
		return false, fmt.Errorf("stat %s: %w", b.Name(), err)
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino, nil
}
