"""Portal baseline: p50/p95 of /healthz, /readyz and the signed-in home page (prints figures, asserts nothing).

    python bench/portal.py [--requests 300]
Uses the configured database (DATABASE_URL) in a throwaway test database.
"""

import argparse
import statistics
import time

from _harness import percentile, setup_django, throwaway_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    setup_django()
    from django.contrib.auth import get_user_model
    from django.test import Client

    with throwaway_database() as connection:
        user = get_user_model().objects.create_user("bench", password="bench-password-123")
        client = Client()
        client.force_login(user)
        print(f"database: {connection.vendor}, requests per URL: {args.requests}")
        for url in ["/healthz", "/readyz", "/"]:
            client.get(url)  # warm-up
            samples = []
            for _ in range(args.requests):
                start = time.perf_counter()
                response = client.get(url)
                samples.append((time.perf_counter() - start) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{url} answered {response.status_code}: figures would be meaningless")
            print(
                f"{url:10} p50 {statistics.median(samples):6.2f} ms   p95 {percentile(samples, 0.95):6.2f} ms"
            )


if __name__ == "__main__":
    main()
