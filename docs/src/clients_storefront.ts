// A storefront's calls through openapi-fetch and the types openapi-typescript generates
// (docs/clients.md). Type-checked with `tsc --noEmit` by tests/heavy/test_generated_clients.py.
import createClient from "openapi-fetch";
import type { components, paths } from "./nexus-shop";

type Product = components["schemas"]["ProductOut"];

const api = createClient<paths>({ baseUrl: "http://127.0.0.1:8000" });

export async function cheapest(): Promise<{ product: Product | undefined; etag: string | null }> {
  const { data, error, response } = await api.GET("/api/products", {
    params: { query: { ordering: "price", page_size: 1 } },
  });
  if (error) {
    throw new Error(error.detail);
  }
  return { product: data.items[0], etag: response.headers.get("ETag") };
}

export async function checkout(token: string, key: string): Promise<string> {
  const { data, error } = await api.POST("/api/checkout", {
    headers: { Authorization: `Bearer ${token}` },
    params: { header: { "Idempotency-Key": key } }, // required: tsc refuses a call without
  });
  if (error) {
    throw new Error(error.detail);
  }
  return data.number;
}
