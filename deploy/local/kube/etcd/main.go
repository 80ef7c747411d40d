// etcd, the API server's storage: the server's own entry point, built here because the module
// that holds etcd's main package (go.etcd.io/etcd/v3) is not made to be a dependency.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
