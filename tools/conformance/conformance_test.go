package conformance

import (
	"flag"
	"io/fs"
	"os"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/gateway-api/conformance"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	conformanceconfig "sigs.k8s.io/gateway-api/conformance/utils/config"
	"sigs.k8s.io/gateway-api/conformance/utils/flags"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
)

// The suite's own flags (-gateway-class, -report-output, -run-test, -skip-tests, -debug,
// -version, -contact, -timeout-config-overrides, ...) are registered by its flags package and
// override the defaults below when given. This one is kubegate's.
var supportedFeaturesPath = flag.String("supported-features-file", "",
	"absolute path of kubegate's supported-features.json: the features claimed (-supported-features overrides it)")

// rootNetnsEnv names the network namespace (a path such as /proc/<pid>/ns/net) in which the
// Kubernetes API server is reachable, when the test runs in another one (the lab's underlay).
const rootNetnsEnv = "KUBEGATE_ROOT_NETNS"

// kubegateOptions are the defaults for a kubegate run, before the suite's flags are applied.
func kubegateOptions() suite.ConfigurableOptions {
	return suite.ConfigurableOptions{
		GatewayClassName:     "kubegate",
		CleanupBaseResources: true,
		CleanupTestResources: true,
		Mode:                 flags.DefaultMode,
		ConformanceProfiles:  []suite.ConformanceProfileName{suite.GatewayHTTPConformanceProfileName},
		// The suite's defaults. MaxTimeToConsistency (30 s) may not be raised for a conformant
		// report; the others are far above what the local cluster needs.
		TimeoutConfig: conformanceconfig.DefaultTimeoutConfig(),
		Implementation: confv1.Implementation{
			Organization: "kubegate",
			Project:      "kubegate",
			URL:          "https://github.com/kubegate/kubegate",
			Contact:      []string{"https://github.com/kubegate/kubegate/issues"},
		},
	}
}

func TestGatewayAPIConformance(t *testing.T) {
	log.SetLogger(zap.New(zap.WriteTo(os.Stdout), zap.UseDevMode(true)))

	opts := kubegateOptions()
	if *supportedFeaturesPath != "" {
		names, err := ReadSupportedFeatures(*supportedFeaturesPath)
		if err != nil {
			t.Fatalf("supported features: %v", err)
		}
		opts.SupportedFeatures = names
	}
	flags.ApplyAll(&opts)
	if len(opts.SupportedFeatures) == 0 && !opts.EnableAllSupportedFeatures {
		// Without any, the suite would read them from the GatewayClass status: the claim must come
		// from the reviewed list instead.
		t.Fatal("no supported features: pass -supported-features-file (or -supported-features)")
	}

	clients, err := NewKubeClients(os.Getenv(rootNetnsEnv))
	if err != nil {
		t.Fatalf("%v", err)
	}
	conformance.RunConformanceWithOptions(t, suite.ConformanceOptions{
		ConfigurableOptions: opts,
		Client:              clients.Client,
		ClientOptions:       clients.Options,
		Clientset:           clients.Clientset,
		RestConfig:          clients.RestConfig,
		ManifestFS:          []fs.FS{&conformance.Manifests},
	})
}
