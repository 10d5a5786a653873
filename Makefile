# ngx_l402 — see README.md. Every target installs what it needs (apt, cargo, pip, npm).
.PHONY: demo demo-stop test bench bench-ab bench-instructions bench-cashu build clean

build:            ## nginx 1.28 + the module into build/
	./scripts/build.sh

demo:             ## build, then run nginx on 127.0.0.1:8402 with examples/demo.conf (fake backend)
	./scripts/demo.sh

demo-stop:
	@[ -f build/demo/logs/nginx.pid ] && build/nginx/sbin/nginx -p $(CURDIR)/build/demo -s stop 2>/dev/null && echo "demo stopped" || echo "demo is not running"

test:             ## unit, property and integration tests (real nginx), interop with third-party clients
	./scripts/test.sh

bench:            ## wrk on loopback: plain nginx vs paid path vs challenge path
	./scripts/bench.sh

bench-ab:         ## the module of REV (default HEAD~1) against the working tree's, in one run
	./scripts/bench-ab.sh

bench-cashu:      ## the Cashu P2PK paid request vs plain nginx (a real mint and wallet; N, C)
	./scripts/install-deps.sh test && ./scripts/build.sh && tests/.venv/bin/python scripts/bench-cashu.py

bench-instructions: ## instructions per request under callgrind: plain, paid, claim, challenge
	./scripts/bench-instructions.sh

clean:
	rm -rf build target
