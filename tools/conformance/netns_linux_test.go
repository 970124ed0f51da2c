package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// childServerEnv tells this binary, re-run inside a new network namespace, where the parent's
// server listens (an address in the parent's namespace only).
const childServerEnv = "KUBEGATE_NETNS_TEST_SERVER"

// TestNetnsDialerReachesTheRootNamespace runs TestNetnsDialerChild in a fresh network namespace
// (unshare --net: it disappears with the child) against an API-server stand-in on 127.0.0.1 here.
func TestNetnsDialerReachesTheRootNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("needs unshare (util-linux)")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/version":
			fmt.Fprint(w, `{"major":"1","minor":"37","gitVersion":"v1.37.2-netns-test"}`)
		case "/api/v1/namespaces/probe":
			fmt.Fprint(w, `{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"probe","uid":"reached-root-netns"}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare, "--net", "--", os.Args[0], "-test.run", "^TestNetnsDialerChild$", "-test.v", "-test.count", "1")
	cmd.Env = append(os.Environ(),
		childServerEnv+"="+srv.Listener.Addr().String(),
		fmt.Sprintf("%s=/proc/%d/ns/net", rootNetnsEnv, os.Getpid()),
	)
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil {
		t.Fatalf("child failed: %v", err)
	}
}

// TestNetnsDialerChild is the half of the test above that runs in the other namespace.
func TestNetnsDialerChild(t *testing.T) {
	addr := os.Getenv(childServerEnv)
	if addr == "" {
		t.Skip("run by TestNetnsDialerReachesTheRootNamespace")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if c, err := (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "tcp", addr); err == nil {
		c.Close()
		t.Fatalf("a plain dial reached %s: this is not a separate network namespace", addr)
	}

	d, err := NewNetnsDialer(os.Getenv(rootNetnsEnv))
	if err != nil || d == nil {
		t.Fatalf("NewNetnsDialer = %v, %v; want a dialer into the parent's namespace", d, err)
	}

	// Many dials at once, so several OS threads switch back and forth.
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			c, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			c.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("dial through the dialer: %v", err)
	}
	assertThreadsHome(t, d)

	// The Kubernetes clients the suite uses, from a kubeconfig, as the conformance test builds them.
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	writeKubeconfig(t, kubeconfig, "http://"+addr)
	t.Setenv("KUBECONFIG", kubeconfig)
	clients, err := NewKubeClients(os.Getenv(rootNetnsEnv))
	if err != nil {
		t.Fatalf("NewKubeClients: %v", err)
	}
	v, err := clients.Clientset.Discovery().ServerVersion()
	if err != nil || v.GitVersion != "v1.37.2-netns-test" {
		t.Fatalf("clientset ServerVersion = %v, %v", v, err)
	}
	ns, err := clients.Clientset.CoreV1().Namespaces().Get(ctx, "probe", metav1.GetOptions{})
	if err != nil || ns.UID != "reached-root-netns" {
		t.Fatalf("clientset get namespace = %v, %v", ns, err)
	}
	assertThreadsHome(t, d)
}

// assertThreadsHome checks that every thread of the process is back in its own namespace.
func assertThreadsHome(t *testing.T, d *NetnsDialer) {
	t.Helper()
	home, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	target, err := os.Readlink(d.target.Name())
	if err != nil {
		t.Fatal(err)
	}
	if home == target {
		t.Fatalf("own namespace %s is the target's", home)
	}
	tasks, err := filepath.Glob("/proc/self/task/*/ns/net")
	if err != nil || len(tasks) == 0 {
		t.Fatalf("threads: %v %v", tasks, err)
	}
	for _, task := range tasks {
		ns, err := os.Readlink(task)
		if err == nil && ns != home { // a thread may end between Glob and Readlink
			t.Errorf("%s is in %s, not in %s", task, ns, home)
		}
	}
}

func writeKubeconfig(t *testing.T, path, server string) {
	t.Helper()
	cfg := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"clusters":        []any{map[string]any{"name": "c", "cluster": map[string]any{"server": server}}},
		"users":           []any{map[string]any{"name": "u", "user": map[string]any{"token": "t"}}},
		"contexts":        []any{map[string]any{"name": "x", "context": map[string]any{"cluster": "c", "user": "u"}}},
		"current-context": "x",
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
