// Command quanchain-cc runs the quanchain chaincode as a service (CCaaS): the
// peer connects to it at CHAINCODE_SERVER_ADDRESS.
//
// Environment:
//
//	CHAINCODE_ID              the package id the peer installed (required)
//	CHAINCODE_SERVER_ADDRESS  host:port to listen on (required)
//	CHAINCODE_TLS_CERT        PEM server certificate file (TLS is on when set)
//	CHAINCODE_TLS_KEY         PEM server key file
//	CHAINCODE_CLIENT_CA_CERT  PEM CA file for peer client certificates (mutual TLS when set)
//	QUANCHAIN_CEILING_CONTRACT  1 registers the load test's ceiling contract
//	                            (contract.WithCeiling); development networks only
package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/quanchain/quanchain/chaincode/contract"
)

func main() {
	if err := run(os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "quanchain-cc:", err)
		os.Exit(1)
	}
}

func run(getenv func(string) string) error {
	server, err := newServer(getenv)
	if err != nil {
		return err
	}
	if err := server.Start(); err != nil {
		return fmt.Errorf("chaincode server: %w", err)
	}
	return nil
}

// newServer builds the chaincode server from the environment.
func newServer(getenv func(string) string) (*shim.ChaincodeServer, error) {
	ccid := getenv("CHAINCODE_ID")
	addr := getenv("CHAINCODE_SERVER_ADDRESS")
	if ccid == "" || addr == "" {
		return nil, errors.New("CHAINCODE_ID and CHAINCODE_SERVER_ADDRESS must be set")
	}
	opts, err := contractOptions(getenv)
	if err != nil {
		return nil, err
	}
	cc, err := contract.New(opts...)
	if err != nil {
		return nil, err
	}
	tls, err := tlsProperties(getenv)
	if err != nil {
		return nil, err
	}
	return &shim.ChaincodeServer{CCID: ccid, Address: addr, CC: cc, TLSProps: tls}, nil
}

// contractOptions reads the chaincode's options: the ceiling contract only
// on an explicit QUANCHAIN_CEILING_CONTRACT=1.
func contractOptions(getenv func(string) string) ([]contract.Option, error) {
	v := getenv("QUANCHAIN_CEILING_CONTRACT")
	if v == "" {
		return nil, nil
	}
	on, err := strconv.ParseBool(v)
	if err != nil {
		return nil, fmt.Errorf("QUANCHAIN_CEILING_CONTRACT=%q: want 1 or 0", v)
	}
	if !on {
		return nil, nil
	}
	return []contract.Option{contract.WithCeiling()}, nil
}

// tlsProperties reads the optional TLS material; TLS is disabled when no
// certificate is configured.
func tlsProperties(getenv func(string) string) (shim.TLSProperties, error) {
	certFile, keyFile, caFile := getenv("CHAINCODE_TLS_CERT"), getenv("CHAINCODE_TLS_KEY"), getenv("CHAINCODE_CLIENT_CA_CERT")
	if certFile == "" && keyFile == "" {
		return shim.TLSProperties{Disabled: true}, nil
	}
	if certFile == "" || keyFile == "" {
		return shim.TLSProperties{}, errors.New("CHAINCODE_TLS_CERT and CHAINCODE_TLS_KEY must be set together")
	}
	props := shim.TLSProperties{}
	var err error
	if props.Cert, err = os.ReadFile(certFile); err != nil {
		return props, fmt.Errorf("reading TLS certificate: %w", err)
	}
	if props.Key, err = os.ReadFile(keyFile); err != nil {
		return props, fmt.Errorf("reading TLS key: %w", err)
	}
	if caFile != "" {
		if props.ClientCACerts, err = os.ReadFile(caFile); err != nil {
			return props, fmt.Errorf("reading client CA: %w", err)
		}
	}
	return props, nil
}
