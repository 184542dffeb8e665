module github.com/pmassist/pmassist

go 1.26.0

require (
	github.com/gorilla/mux v1.8.1
	go.etcd.io/bbolt v1.4.3
	golang.org/x/crypto v0.59.0
	golang.org/x/oauth2 v0.38.0
)

require golang.org/x/sys v0.50.0 // indirect
