package server

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
)

func (s *Server) registerTokenRoutes(r *mux.Router) {
	r.HandleFunc(v1+"/tokens", s.member(pmassist.RoleMember, s.handleListTokens)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/tokens", s.member(pmassist.RoleMember, s.handleCreateToken)).Methods(http.MethodPost)
	r.HandleFunc(v1+"/tokens/{id}", s.member(pmassist.RoleMember, s.handleDeleteToken)).Methods(http.MethodDelete)
}

type tokenJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// createToken makes an API token for the caller in the current tenant and
// returns it with its secret, which is never shown again.
func (s *Server) createToken(ctx context.Context, id *identity, name string) (*pmassist.APIToken, string, error) {
	secret := pmassist.APITokenPrefix + randomToken(32)
	t := &pmassist.APIToken{UserID: id.user.ID, Name: name, Hash: hashSecret(secret), CreatedAt: s.now()}
	if err := s.svc.Tokens.CreateAPIToken(ctx, t); err != nil {
		return nil, "", err
	}
	s.audit(ctx, id.user, pmassist.AuditTokenCreated, t.Name, map[string]string{"token_id": t.ID})
	return t, secret, nil
}

// deleteToken revokes one of the caller's tokens; another user's token, or
// one of another tenant, is not found.
func (s *Server) deleteToken(ctx context.Context, id *identity, tokenID string) error {
	notFound := pmassist.Errorf(pmassist.ENOTFOUND, "token not found")
	if !pmassist.ValidID(tokenID) {
		return notFound
	}
	t, err := s.svc.Tokens.FindAPIToken(ctx, tokenID)
	if err != nil {
		return err
	}
	if t.UserID != id.user.ID {
		return notFound
	}
	if err := s.svc.Tokens.DeleteAPIToken(ctx, tokenID); err != nil {
		return err
	}
	s.audit(ctx, id.user, pmassist.AuditTokenRevoked, t.Name, map[string]string{"token_id": t.ID})
	return nil
}

func (s *Server) handleListTokens(w http.ResponseWriter, r *http.Request, id *identity) {
	tokens, err := s.svc.Tokens.ListAPITokens(r.Context(), id.user.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]tokenJSON, 0, len(tokens))
	for _, t := range tokens {
		out = append(out, tokenJSON{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request, id *identity) {
	var req struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, secret, err := s.createToken(r.Context(), id, req.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": t.ID, "name": t.Name, "token": secret, "created_at": t.CreatedAt})
}

func (s *Server) handleDeleteToken(w http.ResponseWriter, r *http.Request, id *identity) {
	if err := s.deleteToken(r.Context(), id, mux.Vars(r)["id"]); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
