package posthogexporter

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/posthogexporter/posthogexporter/internal/metadatatest"
	"github.com/posthogexporter/posthogexporter/internal/posthogtest"
)

// testPKI is a CA made for one test and a server certificate it signed for
// 127.0.0.1 and localhost. caFile is the CA in PEM, in t.TempDir().
type testPKI struct {
	caFile string
	server tls.Certificate
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	now := time.Now()

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "posthogexporter test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)

	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	require.NoError(t, err)

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600))
	return testPKI{
		caFile: caFile,
		server: tls.Certificate{Certificate: [][]byte{srvDER, caDER}, PrivateKey: srvKey},
	}
}

// startTLSStandIn serves a capture stand-in over TLS only, with the PKI's
// server certificate; it returns the stand-in and its https URL.
func startTLSStandIn(t *testing.T, pki testPKI) (*posthogtest.Server, string) {
	t.Helper()
	capture := posthogtest.NewServer()
	srv := httptest.NewUnstartedServer(capture)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.server}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return capture, srv.URL
}

// TestTLSWithTestCA: confighttp's tls settings reach the exporter's client.
// With the CA that signed the server's certificate, events arrive over TLS;
// without it, the push fails on certificate verification, as a retryable
// error that does not quote the key.
func TestTLSWithTestCA(t *testing.T) {
	pki := newTestPKI(t)

	t.Run("ca_file trusts the server", func(t *testing.T) {
		capture, url := startTLSStandIn(t, pki)
		require.Regexp(t, `^https://127\.0\.0\.1:\d+$`, url)
		h := newHarness(t, func(c *Config) {
			c.ClientConfig.Endpoint = url
			c.ClientConfig.TLS.CAFile = pki.caFile
		})
		require.NoError(t, h.traces.ConsumeTraces(context.Background(), serverSpans(3)))
		assert.Len(t, capture.Events(), 3)
		assert.Empty(t, h.capture.Events(), "nothing went to the plain-HTTP stand-in")
	})

	t.Run("no ca_file: x509 error, retryable", func(t *testing.T) {
		capture, url := startTLSStandIn(t, pki)
		h := newHarness(t, func(c *Config) {
			c.APIKey = secretKey
			c.ClientConfig.Endpoint = url
		})
		err := h.traces.ConsumeTraces(context.Background(), serverSpans(3))
		require.Error(t, err)
		require.ErrorContains(t, err, "x509")
		require.ErrorContains(t, err, "certificate signed by unknown authority")
		assert.False(t, consumererror.IsPermanent(err), "a TLS failure may be fixed on the server side: retry")
		assert.NotContains(t, err.Error(), secretKey)
		assert.Empty(t, capture.Requests(), "no request got through the handshake")
		metadatatest.AssertEqualExporterPosthogRequests(t, h.tel, []metricdata.DataPoint[int64]{sumPoint(1, "outcome", "given_up", "status_code", "none")}, ignoreTime...)
	})

	t.Run("insecure_skip_verify", func(t *testing.T) {
		capture, url := startTLSStandIn(t, pki)
		h := newHarness(t, func(c *Config) {
			c.ClientConfig.Endpoint = url
			c.ClientConfig.TLS.InsecureSkipVerify = true
		})
		require.NoError(t, h.traces.ConsumeTraces(context.Background(), serverSpans(2)))
		assert.Len(t, capture.Events(), 2)
	})
}
