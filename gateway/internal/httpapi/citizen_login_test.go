package httpapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/store"
)

// citizenPersonalData are the spellings of the test citizen's ID number, name
// and phone that must never appear in a log line.
func citizenPersonalData() []string {
	var escaped strings.Builder // the name as a JSON encoder escaping non-ASCII writes it
	for _, r := range citizenName {
		fmt.Fprintf(&escaped, `\u%04x`, r)
	}
	return []string{applicant, strings.ToLower(applicant), applicant[:17], applicant[6:14],
		citizenName, escaped.String(), citizenPhone, citizenPhone[3:]}
}

// TestCitizenLoginLogsNoPersonalData: in development mode the one-time
// code and its challenge id are logged, and nothing else of the login — no
// ID number, name or phone in any line, whether the login succeeds, fails
// validation or the code is wrong.
func TestCitizenLoginLogsNoPersonalData(t *testing.T) {
	h := newCitizenHarness(t)
	h.login(applicant)
	h.as("", "POST", "/citizen/v1/login", loginBody(applicant, citizenName, "12"))
	h.as("", "POST", "/citizen/v1/login", loginBody(applicant[:17]+"0", citizenName, citizenPhone))
	h.as("", "POST", "/citizen/v1/login", loginBody(applicant, citizenName+"1", citizenPhone))
	w := h.as("", "POST", "/citizen/v1/login", loginBody(" "+strings.ToLower(applicant)+" ", citizenName, "+86 "+citizenPhone))
	if w.Code != http.StatusOK {
		t.Fatalf("login with spaces and +86: %d %s", w.Code, w.Body)
	}
	lr := decodeBody[loginResponse](t, w)
	h.as("", "POST", "/citizen/v1/login/verify", `{"challenge_id":"`+lr.ChallengeID+`","code":"000000"}`)

	logs := h.logs.String()
	if n := strings.Count(logs, `"msg":"dev one-time code"`); n != 2 {
		t.Fatalf("%d dev one-time code lines, want 2:\n%s", n, logs)
	}
	if h.devCode(lr.ChallengeID) == "" {
		t.Fatal("no code for the second challenge")
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		for _, s := range citizenPersonalData() {
			if strings.Contains(line, s) {
				t.Errorf("log line contains personal data %q:\n%s", s, line)
			}
		}
	}
}

// TestCitizenLoginOutsideDevelopment: without development mode the code is
// never logged; it goes to the code sender, and without one login is
// unavailable and creates nothing.
func TestCitizenLoginOutsideDevelopment(t *testing.T) {
	sender := &citizenCodeSender{}
	h := newCitizenHarness(t, func(c *config.Config, cc *CitizenConfig) { c.Dev, cc.Codes = false, sender })
	w := h.as("", "POST", "/citizen/v1/login", loginBody(applicant, citizenName, "+86 138-0013-8000"))
	if w.Code != http.StatusOK {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	lr := decodeBody[loginResponse](t, w)
	if sender.phone != citizenPhone || len(sender.code) != 6 {
		t.Fatalf("sent %q to %q", sender.code, sender.phone)
	}
	logs := h.logs.String()
	if strings.Contains(logs, "one-time code") || strings.Contains(logs, `"code":"`+sender.code) {
		t.Fatalf("the code was logged outside development mode:\n%s", logs)
	}
	w = h.as("", "POST", "/citizen/v1/login/verify", `{"challenge_id":"`+lr.ChallengeID+`","code":"`+sender.code+`"}`)
	if w.Code != http.StatusOK {
		t.Fatalf("verify: %d %s", w.Code, w.Body)
	}

	sender.fail = true
	w = h.as("", "POST", "/citizen/v1/login", loginBody(applicant, citizenName, citizenPhone))
	if w.Code != http.StatusServiceUnavailable || errCode(t, w) != CodeLoginUnavailable {
		t.Fatalf("sender down: %d %s", w.Code, w.Body)
	}
	for _, s := range citizenPersonalData() {
		if strings.Contains(h.logs.String(), s) {
			t.Errorf("log contains personal data %q", s)
		}
	}

	none := newCitizenHarness(t, func(c *config.Config, _ *CitizenConfig) { c.Dev = false })
	w = none.as("", "POST", "/citizen/v1/login", loginBody(applicant, citizenName, citizenPhone))
	if w.Code != http.StatusServiceUnavailable || errCode(t, w) != CodeLoginUnavailable {
		t.Fatalf("no sender: %d %s", w.Code, w.Body)
	}
}

// TestCitizenLoginAttempts: wrong and expired codes are 401 INVALID_CODE;
// a challenge out of attempts is 429 TOO_MANY_ATTEMPTS, even for the right
// code; a code works once.
func TestCitizenLoginAttempts(t *testing.T) {
	h := newCitizenHarness(t)
	start := func() (string, string) {
		w := h.as("", "POST", "/citizen/v1/login", loginBody(applicant, citizenName, citizenPhone))
		lr := decodeBody[loginResponse](t, w)
		return lr.ChallengeID, h.devCode(lr.ChallengeID)
	}
	verify := func(id, code string) *httptest.ResponseRecorder {
		return h.as("", "POST", "/citizen/v1/login/verify", `{"challenge_id":"`+id+`","code":"`+code+`"}`)
	}
	wrong := func(code string) string {
		if code == "000000" {
			return "000001"
		}
		return "000000"
	}

	id, code := start()
	for i := range 4 {
		if w := verify(id, wrong(code)); w.Code != http.StatusUnauthorized || errCode(t, w) != CodeInvalidCode {
			t.Fatalf("wrong code %d: %d %s", i, w.Code, w.Body)
		}
	}
	if w := verify(id, wrong(code)); w.Code != http.StatusTooManyRequests || errCode(t, w) != CodeTooManyAttempts {
		t.Fatalf("fifth wrong code: %d %s", w.Code, w.Body)
	}
	if w := verify(id, code); w.Code != http.StatusTooManyRequests || errCode(t, w) != CodeTooManyAttempts {
		t.Fatalf("right code after the attempts: %d %s", w.Code, w.Body)
	}

	id, code = start()
	if w := verify(id, code); w.Code != http.StatusOK {
		t.Fatalf("right code: %d %s", w.Code, w.Body)
	}
	if w := verify(id, code); w.Code != http.StatusUnauthorized || errCode(t, w) != CodeInvalidCode {
		t.Fatalf("code used twice: %d %s", w.Code, w.Body)
	}

	id, code = start()
	h.srv.Now = func() time.Time { return now.Add(loginCodeTTL + time.Second) }
	if w := verify(id, code); w.Code != http.StatusUnauthorized || errCode(t, w) != CodeInvalidCode {
		t.Fatalf("expired code: %d %s", w.Code, w.Body)
	}
}

// TestAttemptCounter: a challenge's count of wrong codes lives attemptTTL
// after the last wrong code, and an answered challenge's count is dropped.
// The test runs in a synctest bubble, whose clock time.Sleep moves.
func TestAttemptCounter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAttemptCounter()
		for want := 1; want <= store.MaxLoginAttempts; want++ {
			if got := a.fail("c1"); got != want {
				t.Fatalf("wrong code %d: fail = %d", want, got)
			}
			time.Sleep(attemptTTL - time.Nanosecond) // each wrong code keeps the count
		}
		if got := a.count("c1"); got != store.MaxLoginAttempts {
			t.Fatalf("count = %d, want %d", got, store.MaxLoginAttempts)
		}
		if got := a.count("c2"); got != 0 {
			t.Fatalf("count of another challenge = %d, want 0", got)
		}
		time.Sleep(time.Nanosecond)
		if got := a.count("c1"); got != 0 {
			t.Fatalf("count %v after the last wrong code = %d, want 0", attemptTTL, got)
		}
		if got := a.fail("c1"); got != 1 {
			t.Fatalf("a wrong code after the count expired: fail = %d, want 1", got)
		}

		a.fail("c2")
		a.forget("c2")
		if got := a.count("c2"); got != 0 {
			t.Fatalf("count after forget = %d, want 0", got)
		}

		// Concurrent wrong codes are each counted.
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() { a.fail("c3") })
		}
		wg.Wait()
		if got := a.count("c3"); got != 20 {
			t.Fatalf("count after 20 concurrent wrong codes = %d, want 20", got)
		}
	})
}

// TestCitizenLoginRateLimit: login and verification attempts are limited
// per remote address.
func TestCitizenLoginRateLimit(t *testing.T) {
	h := newCitizenHarness(t, func(_ *config.Config, cc *CitizenConfig) { cc.LoginRate, cc.LoginBurst = 0.001, 2 })
	from := func(addr, path, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		h.srv.ServeHTTP(w, r)
		return w
	}
	body := loginBody(applicant, citizenName, citizenPhone)
	for i := range 2 {
		if w := from("198.51.100.7:4000", "/citizen/v1/login", body); w.Code != http.StatusOK {
			t.Fatalf("login %d: %d %s", i, w.Code, w.Body)
		}
	}
	w := from("198.51.100.7:4001", "/citizen/v1/login", body)
	if w.Code != http.StatusTooManyRequests || errCode(t, w) != CodeRateLimited || w.Header().Get("Retry-After") == "" {
		t.Fatalf("third login: %d %s", w.Code, w.Body)
	}
	w = from("198.51.100.7:4002", "/citizen/v1/login/verify", `{"challenge_id":"`+strings.Repeat("a", 32)+`","code":"123456"}`)
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("verify from the same address: %d %s", w.Code, w.Body)
	}
	if w := from("203.0.113.9:4000", "/citizen/v1/login", body); w.Code != http.StatusOK {
		t.Fatalf("another address: %d %s", w.Code, w.Body)
	}
	if n := strings.Count(h.logs.String(), "dev one-time code"); n != 3 {
		t.Errorf("%d challenges created, want 3", n)
	}
}

func TestCitizenLoginFields(t *testing.T) {
	for name, want := range map[string]bool{
		"张三": true, "阿依古丽·买买提": true, "John O'Neil-Smith": true, "Zoë": true, "": false,
		"张三<b>": false, "张\n三": false, "张三2": false, strings.Repeat("名", 65): false,
	} {
		if got := validPersonName(name); got != want {
			t.Errorf("validPersonName(%q) = %v", name, got)
		}
	}
	for in, want := range map[string]string{
		"13800138000": "13800138000", "+8613800138000": "13800138000", "86 138 0013 8000": "13800138000",
		"+86 138-0013-8000": "13800138000", "12800138000": "", "1380013800": "", "053188888888": "", "": "",
	} {
		got, ok := normalisePhone(in)
		if ok != (want != "") || (ok && got != want) {
			t.Errorf("normalisePhone(%q) = %q, %v", in, got, ok)
		}
	}
	if c, err := oneTimeCode(); err != nil || len(c) != 6 || strings.Trim(c, "0123456789") != "" {
		t.Errorf("oneTimeCode() = %q, %v", c, err)
	}
}
