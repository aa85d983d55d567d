// Stand-in for monis.app/mlog, which the Go module proxy refuses to serve.
// It provides only what the Azure webhook's cmd/webhook and pkg/webhook use.
module monis.app/mlog

go 1.26

require github.com/go-logr/logr v1.4.3
