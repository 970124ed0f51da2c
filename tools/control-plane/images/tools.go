//go:build tools

// Package tools pins the test-workload programs this module builds.
package tools

import (
	_ "sigs.k8s.io/gateway-api-conformance-images/echo-basic"
)
