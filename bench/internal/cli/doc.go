// Package cli is what the commands of the bench module share: their main
// function and flag parsing (Main, Parse), the serving loop of the servers
// (Serve) and a sleep that ends with a context (Sleep).
//
// Everything here runs on the caller's goroutine, but for the
// http.Server.Serve that Serve runs on a goroutine of its own: Serve shuts
// the server down before it returns, which ends that goroutine.
package cli
