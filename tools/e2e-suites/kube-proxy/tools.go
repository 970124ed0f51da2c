//go:build tools

// Package tools pins kube-proxy, which the node-proxy benchmark runs beside kubegate's node agent.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-proxy"
)
