package peerlink

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPeerClientReusesConnections sends two bursts of 128 concurrent
// requests through a member-gateway client, as 128 concurrent data
// requests do, and counts the TLS connections the server accepts. Over
// HTTP/1.1 the second burst reuses the first's 128 connections (with 16
// kept idle, as before, it dialled 112 again). Over HTTP/2 the requests
// share one connection once there is one (the readiness check's ping
// opens it). A burst that finds none races to dial many (55 to 156 in the
// runs seen), and how many of those Go's HTTP/2 client keeps depends on
// the scheduling of the dials: on a loaded machine the second burst
// dialled 73 again. That case is logged, not asserted: the gateway does
// not rely on it, as its readiness check opens the connection first.
func TestPeerClientReusesConnections(t *testing.T) {
	const concurrent = 128
	for _, tc := range []struct {
		name  string
		http2 bool
		warm  bool  // one request first, as the readiness check's ping
		most  int64 // connections the server may accept; 0: any
		reuse bool  // the second burst must dial nothing
	}{
		{"HTTP/2", true, true, 1, true},
		{"HTTP/2 cold", true, false, 0, false},
		{"HTTP/1.1", false, false, concurrent, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var conns atomic.Int64
			var inFlight sync.WaitGroup
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// Answer once the whole burst is in flight, so that the
				// requests are concurrent.
				inFlight.Done()
				done := make(chan struct{})
				go func() { inFlight.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
				}
				if tc.http2 != (r.ProtoMajor == 2) {
					t.Errorf("request over %s", r.Proto)
				}
			}))
			srv.EnableHTTP2 = tc.http2
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.StartTLS()
			defer srv.Close()
			hc := peerHTTPClient(srv.Client().Transport.(*http.Transport).TLSClientConfig)
			defer hc.CloseIdleConnections()
			if tc.warm {
				inFlight.Add(1)
				resp, err := hc.Get(srv.URL)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			var after [2]int64
			for burst := range 2 {
				inFlight.Add(concurrent)
				var wg sync.WaitGroup
				for range concurrent {
					wg.Add(1)
					go func() {
						defer wg.Done()
						resp, err := hc.Get(srv.URL)
						if err != nil {
							t.Error(err)
							return
						}
						resp.Body.Close()
					}()
				}
				wg.Wait()
				after[burst] = conns.Load()
				t.Logf("%s: %d connections after burst %d", tc.name, after[burst], burst+1)
			}
			if tc.reuse && after[1] != after[0] {
				t.Fatalf("the second burst dialled %d connections", after[1]-after[0])
			}
			if tc.most > 0 && after[1] > tc.most {
				t.Fatalf("%d connections for two bursts of %d requests, want at most %d", after[1], concurrent, tc.most)
			}
		})
	}
}
