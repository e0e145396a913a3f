package httpapi

import (
	"net/http"

	"github.com/quanchain/quanchain/gateway/internal/config"
)

// appRoutes serve the citizens' consent app (Deps.App, package consentapp)
// on the operator's gateway: /app/ is the page, /app/{file} its script and
// style sheet. The app calls the citizen API of the same origin.
var appRoutes = []route{
	{method: "GET", pattern: "/app/", role: config.RoleProvider, handle: (*Server).app},
	{method: "GET", pattern: "/app/{file}", role: config.RoleProvider, handle: (*Server).app},
}

func (s *Server) app(w http.ResponseWriter, r *http.Request) error {
	if s.App == nil {
		return apiErr(http.StatusNotFound, CodeNotFound, "the consent app is not served by this gateway")
	}
	s.App.ServeHTTP(w, r)
	return nil
}
