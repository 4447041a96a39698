// Command workload is the instance the runtime conformance suite runs
// under every driver: a static binary with one behaviour per argument.
//
//	env K...    print K=value for each, then wait for SIGTERM and exit 0
//	exit N      print to stdout and stderr, exit with status N
//	ignore      print "ready", ignore SIGTERM, wait to be killed
//	file P      print "found" if P exists, else create it and print
//	            "created"; then as env
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		os.Exit(2)
	}
	switch os.Args[1] {
	case "file":
		if _, err := os.Stat(os.Args[2]); err == nil {
			fmt.Println("found")
		} else if err := os.WriteFile(os.Args[2], []byte("kept"), 0o644); err != nil {
			fmt.Println("write failed:", err)
		} else {
			fmt.Println("created")
		}
		os.Args = os.Args[:2]
		fallthrough
	case "env":
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		for _, k := range os.Args[2:] {
			fmt.Printf("%s=%s\n", k, os.Getenv(k))
		}
		fmt.Println("ready")
		<-term
		fmt.Println("terminated")
	case "exit":
		n, _ := strconv.Atoi(os.Args[2])
		fmt.Println("to stdout")
		fmt.Fprintln(os.Stderr, "to stderr")
		os.Exit(n)
	case "ignore":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		for {
			time.Sleep(time.Hour)
		}
	}
}
