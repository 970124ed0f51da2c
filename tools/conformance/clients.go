package conformance

import (
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	xv1alpha1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"
)

// SuiteVersion is the Gateway API conformance suite this module pins (go.mod).
const SuiteVersion = "v1.7.0"

// KubeClients are the Kubernetes clients the suite takes. The suite builds a fresh client and
// clientset from RestConfig for every test, so RestConfig carries the dialer too.
type KubeClients struct {
	RestConfig *rest.Config
	Client     client.Client
	Options    client.Options
	Clientset  clientset.Interface
}

// NewKubeClients loads the kubeconfig as controller-runtime does (its -kubeconfig flag, then
// $KUBECONFIG, then in-cluster, then ~/.kube/config) and, when rootNetns is not empty, makes
// every connection to the API server in the network namespace at that path.
func NewKubeClients(rootNetns string) (*KubeClients, error) {
	cfg, err := config.GetConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	cfg = rest.CopyConfig(cfg)
	if rootNetns != "" {
		d, err := NewNetnsDialer(rootNetns)
		if err != nil {
			return nil, err
		}
		if d != nil {
			cfg.Dial = d.Dial()
		}
	}
	opts := client.Options{}
	c, err := client.New(cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("Kubernetes client: %w", err)
	}
	// The same registrations as the suite's own DefaultOptions.
	for _, add := range []func() error{
		func() error { return xv1alpha1.Install(c.Scheme()) },
		func() error { return gatewayv1.Install(c.Scheme()) },
		func() error { return apiextensionsv1.AddToScheme(c.Scheme()) },
	} {
		if err := add(); err != nil {
			return nil, err
		}
	}
	cs, err := clientset.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("Kubernetes clientset: %w", err)
	}
	return &KubeClients{RestConfig: cfg, Client: c, Options: opts, Clientset: cs}, nil
}
