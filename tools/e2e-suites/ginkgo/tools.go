//go:build tools

// The ginkgo CLI, at the version the suite is built with: it runs the compiled suite in parallel
// processes (ginkgo --procs=N e2e-network.test).
package ginkgo

import (
	_ "github.com/onsi/ginkgo/v2/ginkgo"
)
