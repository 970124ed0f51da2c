//go:build tools

// Package tools pins GoBGP v4 (the daemon and its CLI), which the BGP interop tests peer with
// beside Debian's gobgpd 3.x and bird2.
package tools

import (
	_ "github.com/osrg/gobgp/v4/cmd/gobgp"
	_ "github.com/osrg/gobgp/v4/cmd/gobgpd"
)
