// Command mailpit-auth runs Mailpit, the SMTP server and mail catcher of the local
// stack: the service sends its mails to it over SMTP, and the tests read them back
// through its HTTP API, as a person reads an inbox.
//
// A module of this project that imports Mailpit's command package, so the version is
// pinned in go.sum like every other Go tool of the stack. The module archive carries
// the web UI's sources but not its built scripts: the HTTP API (all the tests use) is
// complete, the browser UI of the native build is not. The compose stack runs the
// official image, whose UI is complete.
package main

import "github.com/axllent/mailpit/cmd"

func main() {
	cmd.Execute()
}
