package api

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(es)
}

// Issue 24, item 8: 1,000 clients without the token each make a request
// and keep the connection open; the server closes every refused one, keeps
// at most MaxConns open whatever the clients do, and still answers a client
// with the token.
func TestConnectionCap(t *testing.T) {
	const clients = 1000
	ts := startServer(t, nil, ServerOptions{MaxConns: 16})
	before := openFDs(t)
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	closedByServer := 0
	for range clients {
		c, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		// A keep-alive request without the token.
		if _, err := c.Write([]byte("GET /v1/status HTTP/1.1\r\nHost: " + ts.addr + "\r\n\r\n")); err != nil {
			closedByServer++ // refused at the cap already
			continue
		}
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			closedByServer++
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
			t.Fatalf("a request without the token: %d, Connection close %v", resp.StatusCode, resp.Close)
		}
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("after refusing, the server's connection: %v, want closed", err)
		}
		closedByServer++
	}
	// Each side holds the connection's descriptor in this one process: the
	// server's share is what it did not close (it closed before the client
	// read the end of the stream).
	serverSide := openFDs(t) - before - clients
	t.Logf("%d clients without the token: %d closed by the server; the server holds %d descriptors more than before", clients, closedByServer, serverSide)
	if closedByServer != clients {
		t.Errorf("the server kept %d refused connections open", clients-closedByServer)
	}
	if serverSide > 16 {
		t.Errorf("the server holds %d more descriptors, over its cap of 16 connections", serverSide)
	}
	// Idle keep-alive connections with the token, twice the cap: the
	// oldest give way, and a new client is still answered.
	for range 32 {
		c, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte("GET /v1/status HTTP/1.1\r\nHost: " + ts.addr + "\r\nAuthorization: Bearer " + ts.token + "\r\n\r\n")); err != nil {
			continue
		}
		if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	if _, err := ts.client(t).Status(t.Context()); err != nil {
		t.Fatalf("a client with the token, past the cap of idle connections: %v", err)
	}
	if n := openFDs(t) - before - len(held); n > 16+2 { // the cap, and the new client's own
		t.Errorf("the server holds %d more descriptors, over its cap of 16 connections", n)
	}
}
