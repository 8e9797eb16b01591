/// The OpenAPI 3.1 description of the public API (everything the gateway serves except
/// `/internal/...`), served at `GET /openapi.json` and rendered by `GET /docs`.
///
/// Written by hand from the code, not generated: when a public route, parameter, body, status
/// or JSON field changes, change it here in the same commit. The statuses listed for each
/// operation are every one the code can answer (the checks in `Tests/api/schemathesis.sh` fail
/// on any other, and on bodies that do not match their schema). Keep it valid OpenAPI 3.1
/// (`openapi-spec-validator`); it is a raw string, so no escaping is needed beyond JSON's own.
enum OpenAPIDocument {
    static let json: String = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "Cirrus API",
    "version": "1.0.0",
    "summary": "Self-hostable cloud drive: accounts, folders, files, thumbnails, expiring links.",
    "description": "The public HTTP API of Cirrus, served by the gateway.\n\n- JSON uses snake_case; dates are RFC 3339 in UTC with milliseconds (`2026-11-22T18:30:00.123Z`); ids are UUIDs.\n- Authenticate with `Authorization: Bearer <access_token>` from `POST /v1/auth/login`, or with the `cirrus_access` cookie that login sets.\n- Errors are `application/problem+json` (RFC 9457) with `type`, `title`, `status`, `detail`, `instance` and, for invalid input, `errors: [{field, message}]` naming every offending field.\n- Requests are rate-limited: per user at their tier's `requests_per_minute` (carried in the access token), per client address on register, login, refresh and bootstrap, and per client address for anonymous requests (expiring links, invalid tokens). Limited answers carry `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` and `RateLimit-Policy`; over the limit the answer is 429 with `Retry-After`. Health, readiness, metrics, JWKS and the documentation are not limited; `/v1/status` is limited like anonymous requests. Limits are kept per route: a path is made canonical first (`//v1/auth/register` and `/v1/auth/register/` are `/v1/auth/register`), and paths with `.`/`..` segments or percent-encoded `/`, `\\` or NUL are refused with 400.\n- Every response carries `X-Request-Id` and the security headers (`X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, a `Content-Security-Policy` of `default-src 'none'`, `Referrer-Policy: no-referrer`, `Cache-Control`) (the caller's, when it sends a reasonable one).\n- Another user's item behaves exactly like an id that does not exist (404)."
  },
  "servers": [
    {
      "url": "/",
      "description": "This gateway"
    }
  ],
  "tags": [
    {
      "name": "Auth",
      "description": "Registration, login, tokens."
    },
    {
      "name": "Account",
      "description": "The caller's own account."
    },
    {
      "name": "Folders",
      "description": "The folder tree (only the caller's own)."
    },
    {
      "name": "Files",
      "description": "Files: metadata, uploads, downloads, versions, copies, thumbnails."
    },
    {
      "name": "Images",
      "description": "The caller's images with the links their tier allows."
    },
    {
      "name": "Links",
      "description": "Expiring links that work without an account."
    },
    {
      "name": "Trash",
      "description": "Trashed items: restore or delete for good."
    },
    {
      "name": "Admin",
      "description": "Tiers, users and dead letters (role admin)."
    },
    {
      "name": "Operations",
      "description": "Health, readiness, metrics and this documentation."
    }
  ],
  "security": [
    {
      "bearerAuth": []
    },
    {
      "cookieAuth": []
    }
  ],
  "paths": {
    "/v1/auth/register": {
      "post": {
        "tags": [
          "Auth"
        ],
        "operationId": "register",
        "summary": "Create an account",
        "description": "Creates a user on the default tier. Usernames and e-mail addresses are unique (409 names the taken field).",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/RegisterInput"
              },
              "example": {
                "username": "ada",
                "email": "ada@example.com",
                "password": "Correct-horse-9"
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The new user.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/User"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/ContentTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "security": []
      }
    },
    "/v1/auth/login": {
      "post": {
        "tags": [
          "Auth"
        ],
        "operationId": "login",
        "summary": "Log in",
        "description": "Username or e-mail address plus password. Returns an access and a refresh token and also sets the `cirrus_access` HttpOnly cookie (`__Host-cirrus_access` over HTTPS), so browsers work without headers. Failed logins are counted per account and client address (5, then that address waits with a doubling backoff; the owner elsewhere is not locked out), per account from everywhere (a high ceiling) and per client address; a username and its e-mail address are one account. While locked: 429 with `Retry-After`. Login must be JSON and same-site: a request with another content type, `Sec-Fetch-Site: cross-site`/`same-site` or a foreign `Origin` is refused with 403 (login CSRF).",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/LoginInput"
              },
              "example": {
                "login": "ada",
                "password": "Correct-horse-9"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Tokens.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/TokenPair"
                }
              }
            },
            "headers": {
              "Set-Cookie": {
                "$ref": "#/components/headers/Set-Cookie-Login"
              },
              "Cache-Control": {
                "$ref": "#/components/headers/Cache-Control"
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "description": "The login or password is wrong (or the account is disabled).",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "403": {
            "description": "Refused as a cross-site login (not JSON, or sent from another site).",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/ContentTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "security": []
      }
    },
    "/v1/auth/refresh": {
      "post": {
        "tags": [
          "Auth"
        ],
        "operationId": "refresh",
        "summary": "Rotate a refresh token",
        "description": "Trades a refresh token for new tokens; the old one is spent. Presenting a spent token again revokes its whole session family.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/RefreshInput"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "New tokens.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/TokenPair"
                }
              }
            },
            "headers": {
              "Set-Cookie": {
                "$ref": "#/components/headers/Set-Cookie-Login"
              },
              "Cache-Control": {
                "$ref": "#/components/headers/Cache-Control"
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "description": "The refresh token is unknown, spent, expired or revoked.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/ContentTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "security": []
      }
    },
    "/v1/auth/logout": {
      "post": {
        "tags": [
          "Auth"
        ],
        "operationId": "logout",
        "summary": "Log out",
        "description": "Revokes the session family of the given refresh token and clears the `cirrus_access` cookie. Needs no access token; without a body (or with `{}`) it only clears the cookie.",
        "requestBody": {
          "required": false,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/LogoutInput"
              }
            }
          }
        },
        "responses": {
          "204": {
            "description": "Logged out.",
            "headers": {
              "Set-Cookie": {
                "$ref": "#/components/headers/Set-Cookie-Logout"
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "413": {
            "$ref": "#/components/responses/ContentTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "security": []
      }
    },
    "/v1/auth/jwks": {
      "get": {
        "tags": [
          "Auth"
        ],
        "operationId": "jwks",
        "summary": "Public keys for access tokens",
        "description": "The Ed25519 keys (JWKS, RFC 7517/8037) that verify access tokens, including keys retiring after a rotation.",
        "responses": {
          "200": {
            "description": "The key set.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/JWKS"
                }
              }
            },
            "headers": {
              "Cache-Control": {
                "$ref": "#/components/headers/Cache-Control"
              }
            }
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "security": []
      }
    },
    "/v1/auth/bootstrap-admin": {
      "post": {
        "tags": [
          "Admin"
        ],
        "operationId": "bootstrapAdmin",
        "summary": "Create the first administrator",
        "description": "Only while no admin exists and the server has a bootstrap secret configured (otherwise 404).",
        "parameters": [
          {
            "name": "X-Bootstrap-Secret",
            "in": "header",
            "required": true,
            "description": "The server's `CIRRUS_AUTH_BOOTSTRAP_SECRET`.",
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/RegisterInput"
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The new admin.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/User"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "403": {
            "description": "The bootstrap secret is missing or wrong.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "404": {
            "description": "Bootstrapping is switched off (no secret configured).",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "409": {
            "description": "An administrator already exists, or the username or e-mail is taken.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/ContentTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "security": []
      }
    },
    "/v1/me": {
      "get": {
        "tags": [
          "Account"
        ],
        "operationId": "me",
        "summary": "The caller's profile",
        "description": "Profile, role, tier with its permissions, and quota: total, largest upload, bytes used and reserved.",
        "responses": {
          "200": {
            "description": "The profile.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Me"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/v1/admin/signing-keys/rotate": {
      "post": {
        "tags": [
          "Admin"
        ],
        "operationId": "rotateSigningKey",
        "summary": "Rotate the token signing key",
        "description": "A new key signs from now on; the previous ones keep verifying for one access-token lifetime.",
        "responses": {
          "201": {
            "description": "The new key id.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/SigningKey"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "description": "The caller is not an administrator.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/v1/admin/tiers": {
      "get": {
        "tags": [
          "Admin"
        ],
        "operationId": "listTiers",
        "summary": "List tiers",
        "responses": {
          "200": {
            "description": "Every tier.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/TierList"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "description": "The caller is not an administrator.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      },
      "post": {
        "tags": [
          "Admin"
        ],
        "operationId": "createTier",
        "summary": "Create a tier",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/TierInput"
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The new tier.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/AdminTier"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "description": "The caller is not an administrator.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "409": {
            "description": "A tier with that name exists.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/ContentTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/v1/admin/tiers/{id}": {
      "parameters": [
        {
          "name": "id",
          "in": "path",
          "required": true,
          "description": "The tier's id.",
          "schema": {
            "type": "string",
            "format": "uuid"
          }
        }
      ],
      "get": {
        "tags": [
          "Admin"
        ],
        "operationId": "getTier",
        "summary": "A tier",
        "responses": {
          "200": {
            "description": "The tier.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/AdminTier"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "description": "The caller is not an administrator.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      },
      "patch": {
        "tags": [
          "Admin"
        ],
        "operationId": "updateTier",
        "summary": "Change a tier",
        "description": "Every user on the tier gets the change (thumbnail sizes, links, quota…) without further steps.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/TierInput"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The tier.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/AdminTier"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "description": "The caller is not an administrator.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "description": "A tier with that name exists.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/ContentTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      },
      "delete": {
        "tags": [
          "Admin"
        ],
        "operationId": "deleteTier",
        "summary": "Delete a tier",
        "responses": {
          "204": {
            "description": "Deleted."
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "description": "The caller is not an administrator.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "description": "The tier is the default one or users are on it.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/v1/admin/users": {
      "get": {
        "tags": [
          "Admin"
        ],
        "operationId": "listUsers",
        "summary": "List users",
        "description": "Ordered by username.",
        "parameters": [
          {
            "name": "tier_id",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "uuid"
            }
          },
          {
            "name": "role",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "enum": [
                "user",
                "admin"
              ]
            }
          },
          {
            "$ref": "#/components/parameters/Limit"
          },
          {
            "name": "cursor",
            "in": "query",
            "required": false,
            "description": "`next_cursor` of the previous page.",
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "A page of users.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/UserPage"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "description": "The caller is not an administrator.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/v1/admin/users/{id}": {
      "parameters": [
        {
          "name": "id",
          "in": "path",
          "required": true,
          "description": "The user's id.",
          "schema": {
            "type": "string",
            "format": "uuid"
          }
        }
      ],
      "patch": {
        "tags": [
          "Admin"
        ],
        "operationId": "updateUser",
        "summary": "Change a user's tier, role or disabled flag",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/UserPatch"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The user.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/User"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "description": "The caller is not an administrator.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "description": "It would leave no active administrator.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/ContentTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      },
      "delete": {
        "tags": [
          "Admin"
        ],
        "operationId": "deleteUser",
        "summary": "Delete a user",
        "description": "Their files are deleted too.",
        "responses": {
          "204": {
            "description": "Deleted."
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "description": "The caller is not an administrator.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "description": "It would leave no active administrator.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/v1/admin/dead-letters": {
      "get": {
        "tags": [
          "Admin"
        ],
        "operationId": "listDeadLetters",
        "summary": "List dead letters",
        "description": "Events a consumer gave up on (after its retries, or at once when undecodable), from every consuming service, newest failure first. Services that did not answer are named in `unavailable`.",
        "parameters": [
          {
            "name": "topic",
            "in": "query",
            "required": false,
            "description": "Only this topic's (e.g. `thumbnail.requested`).",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "description": "At most this many (default 100).",
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000
            }
          }
        ],
        "responses": {
          "200": {
            "description": "The dead letters.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/DeadLetterList"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          }
        }
      }
    },
    "/v1/admin/dead-letters/replay": {
      "post": {
        "tags": [
          "Admin"
        ],
        "operationId": "replayDeadLetterTopic",
        "summary": "Replay every dead letter of a topic",
        "description": "Each runs through the consumer that failed, oldest first (at most 1,000 per service and call). Replayed ones leave the list; those that fail again stay with their new error. Logged with the admin's id.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/DeadLetterReplayInput"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "How many were replayed and how many failed again.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/DeadLetterReplaySummary"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          }
        }
      }
    },
    "/v1/admin/dead-letters/{id}": {
      "parameters": [
        {
          "name": "id",
          "in": "path",
          "required": true,
          "description": "The dead letter's id.",
          "schema": {
            "type": "string",
            "format": "uuid"
          }
        }
      ],
      "get": {
        "tags": [
          "Admin"
        ],
        "operationId": "getDeadLetter",
        "summary": "One dead letter, with its message",
        "responses": {
          "200": {
            "description": "The dead letter.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/DeadLetter"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          }
        }
      },
      "delete": {
        "tags": [
          "Admin"
        ],
        "operationId": "discardDeadLetter",
        "summary": "Discard a dead letter",
        "description": "Dropped for good (logged with the admin's id). What the event would have done does not happen; reconcilers repair what they cover.",
        "responses": {
          "204": {
            "description": "Discarded."
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          }
        }
      }
    },
    "/v1/admin/dead-letters/{id}/replay": {
      "parameters": [
        {
          "name": "id",
          "in": "path",
          "required": true,
          "description": "The dead letter's id.",
          "schema": {
            "type": "string",
            "format": "uuid"
          }
        }
      ],
      "post": {
        "tags": [
          "Admin"
        ],
        "operationId": "replayDeadLetter",
        "summary": "Replay one dead letter",
        "description": "Runs the message through the consumer that failed. `replayed`: it is gone from the list. `failed`: it stays, with the new error and one more attempt. Logged with the admin's id.",
        "responses": {
          "200": {
            "description": "What the replay did.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/DeadLetterOutcome"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "description": "The consumer of this dead letter no longer runs in that service.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          }
        }
      }
    },
    "/v1/folders/root": {
      "get": {
        "tags": [
          "Folders"
        ],
        "operationId": "getRootFolder",
        "summary": "The caller's root folder",
        "responses": {
          "200": {
            "description": "The root folder.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Item"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/v1/folders": {
      "post": {
        "tags": [
          "Folders"
        ],
        "operationId": "createFolder",
        "summary": "Create a folder",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/FolderInput"
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The new folder.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Item"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "409": {
            "description": "The name is taken in that folder (`type` `https://cirrus.dev/problems/name-taken`).",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/ContentTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/v1/folders/{id}": {
      "parameters": [
        {
          "$ref": "#/components/parameters/ItemID"
        }
      ],
      "get": {
        "tags": [
          "Folders"
        ],
        "operationId": "getFolder",
        "summary": "A folder",
        "responses": {
          "200": {
            "description": "The folder.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Item"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      },
      "patch": {
        "tags": [
          "Folders"
        ],
        "operationId": "updateFolder",
        "summary": "Rename and/or move a folder",
        "description": "Moving a folder into itself or its own subtree is refused (422). The root folder cannot be changed (409).",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/ItemPatch"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The folder.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Item"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "description": "The name is taken in the target folder, or this is the root folder.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/ContentTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      },
      "delete": {
        "tags": [
          "Folders"
        ],
        "operationId": "trashFolder",
        "summary": "Move a folder to the trash",
        "description": "With everything in it.",
        "responses": {
          "204": {
            "description": "Moved to the trash."
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "description": "The root folder cannot be deleted.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/v1/folders/{id}/children": {
      "parameters": [
        {
          "$ref": "#/components/parameters/ItemID"
        }
      ],
      "get": {
        "tags": [
          "Folders"
        ],
        "operationId": "listChildren",
        "summary": "List a folder",
        "description": "Filters, sort and keyset pagination; a cursor only works with the filters and sort it came from.",
        "parameters": [
          {
            "$ref": "#/components/parameters/Q"
          },
          {
            "$ref": "#/components/parameters/Kind"
          },
          {
            "$ref": "#/components/parameters/ContentType"
          },
          {
            "$ref": "#/components/parameters/MinSize"
          },
          {
            "$ref": "#/components/parameters/MaxSize"
          },
          {
            "$ref": "#/components/parameters/CreatedAfter"
          },
          {
            "$ref": "#/components/parameters/CreatedBefore"
          },
          {
            "$ref": "#/components/parameters/Sort"
          },
          {
            "$ref": "#/components/parameters/Limit"
          },
          {
            "$ref": "#/components/parameters/Cursor"
          }
        ],
        "responses": {
          "200": {
            "description": "A page of items.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ItemPage"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/v1/files": {
      "post": {
        "tags": [
          "Files"
        ],
        "operationId": "uploadFile",
        "summary": "Upload a file",
        "description": "The bytes stream to storage (never buffered whole); the file becomes visible once they are stored and checked. The content type is sniffed from the bytes. Images get thumbnails of the tier's sizes. A multipart body may carry at most 16 form fields besides the file part, 64 KiB of them in all (413 naming `multipart` beyond that).",
        "parameters": [
          {
            "name": "folder_id",
            "in": "query",
            "required": false,
            "description": "Raw uploads: the folder (required for raw bodies).",
            "schema": {
              "type": "string",
              "format": "uuid"
            }
          },
          {
            "name": "name",
            "in": "query",
            "required": false,
            "description": "Raw uploads: the file's name (required for raw bodies).",
            "schema": {
              "type": "string"
            }
          },
          {
            "$ref": "#/components/parameters/ContentSHA256"
          }
        ],
        "requestBody": {
          "required": true,
          "description": "Either `multipart/form-data` (fields first, then the `file` part), or the raw content with `folder_id` and `name` as query parameters (any Content-Type other than multipart is taken as raw bytes).",
          "content": {
            "multipart/form-data": {
              "schema": {
                "$ref": "#/components/schemas/UploadForm"
              },
              "encoding": {
                "file": {
                  "contentType": "application/octet-stream"
                }
              }
            },
            "application/octet-stream": {
              "schema": {
                "type": "string",
                "format": "binary"
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The new file.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Item"
                }
              }
            }
          },
          "400": {
            "description": "A malformed multipart body.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "409": {
            "description": "The name is taken in that folder (`type` `https://cirrus.dev/problems/name-taken`).",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "410": {
            "description": "The reservation expired or was cancelled while the bytes were sent; nothing was kept.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "413": {
            "description": "Larger than the tier's largest upload (checked from `Content-Length` at once, otherwise while streaming); nothing was kept.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "415": {
            "description": "A `multipart/*` type other than `multipart/form-data`: send the file as form data or as the raw body.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "422": {
            "description": "Invalid or missing `folder_id`, `name` or `file`, a malformed `X-Content-SHA256`, or content that does not match it (`type` `https://cirrus.dev/problems/checksum-mismatch`).",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "507": {
            "$ref": "#/components/responses/QuotaExceeded"
          }
        }
      },
      "get": {
        "tags": [
          "Files"
        ],
        "operationId": "searchFiles",
        "summary": "Search the caller's files",
        "description": "Across all folders (files only), with the same filters, sort and pagination as a folder listing.",
        "parameters": [
          {
            "$ref": "#/components/parameters/Q"
          },
          {
            "$ref": "#/components/parameters/Kind"
          },
          {
            "$ref": "#/components/parameters/ContentType"
          },
          {
            "$ref": "#/components/parameters/MinSize"
          },
          {
            "$ref": "#/components/parameters/MaxSize"
          },
          {
            "$ref": "#/components/parameters/CreatedAfter"
          },
          {
            "$ref": "#/components/parameters/CreatedBefore"
          },
          {
            "$ref": "#/components/parameters/Sort"
          },
          {
            "$ref": "#/components/parameters/Limit"
          },
          {
            "$ref": "#/components/parameters/Cursor"
          }
        ],
        "responses": {
          "200": {
            "description": "A page of files.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ItemPage"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/v1/files/{id}": {
      "parameters": [
        {
          "$ref": "#/components/parameters/ItemID"
        }
      ],
      "get": {
        "tags": [
          "Files"
        ],
        "operationId": "getFile",
        "summary": "A file's metadata",
        "responses": {
          "200": {
            "description": "The file.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Item"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      },
      "patch": {
        "tags": [
          "Files"
        ],
        "operationId": "updateFile",
        "summary": "Rename and/or move a file",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/ItemPatch"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The file.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Item"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "description": "The name is taken in the target folder.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/ContentTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      },
      "delete": {
        "tags": [
          "Files"
        ],
        "operationId": "trashFile",
        "summary": "Move a file to the trash",
        "responses": {
          "204": {
            "description": "Moved to the trash."
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/v1/files/{id}/versions": {
      "parameters": [
        {
          "$ref": "#/components/parameters/ItemID"
        }
      ],
      "get": {
        "tags": [
          "Files"
        ],
        "operationId": "listVersions",
        "summary": "Previous versions",
        "description": "Earlier contents kept after replacements (a bounded number per file).",
        "responses": {
          "200": {
            "description": "The versions.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/VersionList"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/v1/files/{id}/copy": {
      "parameters": [
        {
          "$ref": "#/components/parameters/ItemID"
        }
      ],
      "post": {
        "tags": [
          "Files"
        ],
        "operationId": "copyFile",
        "summary": "Copy a file",
        "description": "The copy shares the content (no bytes are duplicated) but counts towards the quota.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/CopyInput"
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The copy.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Item"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "description": "The name is taken in that folder, or the content is no longer available.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/ContentTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "507": {
            "$ref": "#/components/responses/QuotaExceeded"
          }
        }
      }
    },
    "/v1/files/{id}/thumbnails/retry": {
      "parameters": [
        {
          "$ref": "#/components/parameters/ItemID"
        }
      ],
      "post": {
        "tags": [
          "Files"
        ],
        "operationId": "retryThumbnails",
        "summary": "Ask again for an image's thumbnails",
        "description": "For an image whose thumbnails failed (`thumbnails.failure` says why) or are still pending: the failure is forgotten and the sizes the owner's tier allows are requested again. The answer is the file with `thumbnails.status` `pending`; the outcome arrives as usual (`ready`, or `failed` with its reason).",
        "responses": {
          "202": {
            "description": "The file, its thumbnails pending.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Item"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "description": "Not an image, its thumbnails are ready already, or the tier has no thumbnail sizes.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/v1/files/{id}/content": {
      "parameters": [
        {
          "$ref": "#/components/parameters/ItemID"
        }
      ],
      "get": {
        "tags": [
          "Files"
        ],
        "operationId": "downloadFile",
        "summary": "Download a file",
        "description": "Streams the bytes with `Range`, `ETag` (the SHA-256) and `If-None-Match`, and `Content-Disposition` with the file's name.",
        "parameters": [
          {
            "name": "version",
            "in": "query",
            "required": false,
            "description": "A version's `id` (from `/versions`) to download instead of the current content.",
            "schema": {
              "type": "string",
              "format": "uuid"
            }
          },
          {
            "$ref": "#/components/parameters/Range"
          },
          {
            "$ref": "#/components/parameters/IfNoneMatch"
          },
          {
            "$ref": "#/components/parameters/IfRange"
          }
        ],
        "responses": {
          "200": {
            "description": "The content, with its sniffed media type.",
            "headers": {
              "Content-Length": {
                "$ref": "#/components/headers/Content-Length"
              },
              "ETag": {
                "$ref": "#/components/headers/ETag"
              },
              "Accept-Ranges": {
                "$ref": "#/components/headers/Accept-Ranges"
              },
              "Cache-Control": {
                "$ref": "#/components/headers/Cache-Control"
              },
              "Content-Disposition": {
                "$ref": "#/components/headers/Content-Disposition"
              }
            },
            "content": {
              "*/*": {
                "schema": {
                  "type": "string",
                  "format": "binary"
                }
              }
            }
          },
          "206": {
            "description": "The requested range.",
            "headers": {
              "Content-Length": {
                "$ref": "#/components/headers/Content-Length"
              },
              "ETag": {
                "$ref": "#/components/headers/ETag"
              },
              "Accept-Ranges": {
                "$ref": "#/components/headers/Accept-Ranges"
              },
              "Cache-Control": {
                "$ref": "#/components/headers/Cache-Control"
              },
              "Content-Disposition": {
                "$ref": "#/components/headers/Content-Disposition"
              },
              "Content-Range": {
                "$ref": "#/components/headers/Content-Range"
              }
            },
            "content": {
              "*/*": {
                "schema": {
                  "type": "string",
                  "format": "binary"
                }
              }
            }
          },
          "304": {
            "description": "`If-None-Match` matched.",
            "headers": {
              "ETag": {
                "$ref": "#/components/headers/ETag"
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "description": "No such file or version, or its content is gone.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "416": {
            "description": "The range starts beyond the end of the content.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            },
            "headers": {
              "Content-Range": {
                "$ref": "#/components/headers/Content-Range"
              }
            }
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      },
      "head": {
        "tags": [
          "Files"
        ],
        "operationId": "headFile",
        "summary": "A file's content headers",
        "description": "As `GET` without the body.",
        "parameters": [
          {
            "name": "version",
            "in": "query",
            "required": false,
            "description": "A version's `id` (from `/versions`) to download instead of the current content.",
            "schema": {
              "type": "string",
              "format": "uuid"
            }
          },
          {
            "$ref": "#/components/parameters/Range"
          },
          {
            "$ref": "#/components/parameters/IfNoneMatch"
          },
          {
            "$ref": "#/components/parameters/IfRange"
          }
        ],
        "responses": {
          "200": {
            "description": "Headers of the content.",
            "headers": {
              "Content-Length": {
                "$ref": "#/components/headers/Content-Length"
              },
              "ETag": {
                "$ref": "#/components/headers/ETag"
              },
              "Accept-Ranges": {
                "$ref": "#/components/headers/Accept-Ranges"
              },
              "Cache-Control": {
                "$ref": "#/components/headers/Cache-Control"
              },
              "Content-Disposition": {
                "$ref": "#/components/headers/Content-Disposition"
              }
            }
          },
          "206": {
            "description": "Headers of the range.",
            "headers": {
              "Content-Length": {
                "$ref": "#/components/headers/Content-Length"
              },
              "ETag": {
                "$ref": "#/components/headers/ETag"
              },
              "Accept-Ranges": {
                "$ref": "#/components/headers/Accept-Ranges"
              },
              "Cache-Control": {
                "$ref": "#/components/headers/Cache-Control"
              },
              "Content-Disposition": {
                "$ref": "#/components/headers/Content-Disposition"
              },
              "Content-Range": {
                "$ref": "#/components/headers/Content-Range"
              }
            }
          },
          "304": {
            "description": "`If-None-Match` matched.",
            "headers": {
              "ETag": {
                "$ref": "#/components/headers/ETag"
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "description": "No valid access token.",
            "headers": {
              "WWW-Authenticate": {
                "$ref": "#/components/headers/WWW-Authenticate"
              }
            }
          },
          "404": {
            "description": "No such file or version."
          },
          "416": {
            "description": "The range starts beyond the end of the content.",
            "headers": {
              "Content-Range": {
                "$ref": "#/components/headers/Content-Range"
              }
            }
          },
          "429": {
            "description": "Rate limit exceeded.",
            "headers": {
              "Retry-After": {
                "$ref": "#/components/headers/Retry-After"
              },
              "RateLimit-Limit": {
                "$ref": "#/components/headers/RateLimit-Limit"
              },
              "RateLimit-Remaining": {
                "$ref": "#/components/headers/RateLimit-Remaining"
              },
              "RateLimit-Reset": {
                "$ref": "#/components/headers/RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              }
            }
          },
          "503": {
            "description": "A service behind the gateway is unavailable.",
            "headers": {
              "Retry-After": {
                "$ref": "#/components/headers/Retry-After"
              }
            }
          }
        }
      },
      "put": {
        "tags": [
          "Files"
        ],
        "operationId": "replaceContent",
        "summary": "Replace a file's content",
        "description": "Same body forms as an upload (the multipart `folder_id` and `name` fields are ignored). The previous content is kept as a version. A multipart body may carry at most 16 form fields besides the file part, 64 KiB of them in all (413 naming `multipart` beyond that).",
        "parameters": [
          {
            "$ref": "#/components/parameters/ContentSHA256"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "multipart/form-data": {
              "schema": {
                "$ref": "#/components/schemas/ReplaceForm"
              },
              "encoding": {
                "file": {
                  "contentType": "application/octet-stream"
                }
              }
            },
            "application/octet-stream": {
              "schema": {
                "type": "string",
                "format": "binary"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The file with its new content.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Item"
                }
              }
            }
          },
          "400": {
            "description": "A malformed multipart body.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "410": {
            "description": "The reservation expired or was cancelled while the bytes were sent; nothing was kept.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "413": {
            "description": "Larger than the tier's largest upload (checked from `Content-Length` at once, otherwise while streaming); nothing was kept.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "415": {
            "description": "A `multipart/*` type other than `multipart/form-data`: send the file as form data or as the raw body.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "422": {
            "description": "No `file` part, a malformed `X-Content-SHA256`, or content that does not match it (`type` `https://cirrus.dev/problems/checksum-mismatch`).",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "507": {
            "$ref": "#/components/responses/QuotaExceeded"
          }
        }
      }
    },
    "/v1/files/{id}/thumbnails/{size}": {
      "parameters": [
        {
          "$ref": "#/components/parameters/ItemID"
        },
        {
          "name": "size",
          "in": "path",
          "required": true,
          "description": "Height in pixels.",
          "schema": {
            "type": "integer",
            "minimum": 1,
            "maximum": 10000
          }
        }
      ],
      "get": {
        "tags": [
          "Files"
        ],
        "operationId": "getThumbnail",
        "summary": "A thumbnail",
        "description": "A thumbnail of an image file, `size` pixels high, for a height the caller's tier allows; rendered now if it is missing.",
        "parameters": [
          {
            "$ref": "#/components/parameters/IfNoneMatch"
          }
        ],
        "responses": {
          "200": {
            "description": "The thumbnail.",
            "headers": {
              "ETag": {
                "$ref": "#/components/headers/ETag"
              },
              "Cache-Control": {
                "$ref": "#/components/headers/Cache-Control"
              },
              "Content-Length": {
                "$ref": "#/components/headers/Content-Length"
              }
            },
            "content": {
              "image/jpeg": {
                "schema": {
                  "type": "string",
                  "format": "binary"
                }
              },
              "image/webp": {
                "schema": {
                  "type": "string",
                  "format": "binary"
                }
              }
            }
          },
          "304": {
            "description": "`If-None-Match` matched.",
            "headers": {
              "ETag": {
                "$ref": "#/components/headers/ETag"
              },
              "Cache-Control": {
                "$ref": "#/components/headers/Cache-Control"
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "description": "The tier does not include this height (`type` `https://cirrus.dev/problems/tier`).",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "404": {
            "description": "No such file, not an image, or a size outside 1–10000.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "422": {
            "description": "The image cannot have thumbnails (undecodable, too large…; `type` `https://cirrus.dev/problems/no-thumbnail`).",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/v1/files/{id}/links": {
      "parameters": [
        {
          "$ref": "#/components/parameters/ItemID"
        }
      ],
      "post": {
        "tags": [
          "Links"
        ],
        "operationId": "createLink",
        "summary": "Create an expiring link",
        "description": "A signed link to the original or to a thumbnail that anyone can open until it expires. Only on tiers with expiring links; links to the original only on tiers with original links. The link keeps working until it expires (also if the tier changes) for the content the file has now: moving the file to the trash, replacing its content, or its owner being disabled or deleted ends it (404). The token names the file, its content version, the variant and the expiry; it does not name the owner.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/LinkInput"
              },
              "example": {
                "variant": "thumbnail",
                "size": 200,
                "expires_in": 3600
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The link.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Link"
                }
              }
            },
            "headers": {
              "Cache-Control": {
                "$ref": "#/components/headers/Cache-Control"
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "description": "The tier does not include expiring links, or links to originals (`type` `https://cirrus.dev/problems/tier`).",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "413": {
            "$ref": "#/components/responses/ContentTooLarge"
          },
          "415": {
            "$ref": "#/components/responses/UnsupportedMediaType"
          },
          "422": {
            "description": "Invalid `variant`, `size` or `expires_in` (`errors` names each), or a thumbnail link to a file that is not an image.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/v1/links/{token}": {
      "parameters": [
        {
          "name": "token",
          "in": "path",
          "required": true,
          "description": "The link's token.",
          "schema": {
            "type": "string",
            "maxLength": 1024
          }
        }
      ],
      "get": {
        "tags": [
          "Links"
        ],
        "operationId": "openLink",
        "summary": "Open an expiring link",
        "description": "No authentication: the signed token is the permission, for the file's content version it was made for, while the owner's account is active (404 otherwise; 410 once expired). Originals honour `Range`, `If-None-Match` and `If-Range`; thumbnails `If-None-Match`. Rate-limited per client address.",
        "parameters": [
          {
            "$ref": "#/components/parameters/Range"
          },
          {
            "$ref": "#/components/parameters/IfNoneMatch"
          },
          {
            "$ref": "#/components/parameters/IfRange"
          }
        ],
        "responses": {
          "200": {
            "description": "The original's bytes (with its sniffed media type), or the thumbnail image (`image/jpeg` or `image/webp`).",
            "headers": {
              "Content-Length": {
                "$ref": "#/components/headers/Content-Length"
              },
              "ETag": {
                "$ref": "#/components/headers/ETag"
              },
              "Accept-Ranges": {
                "$ref": "#/components/headers/Accept-Ranges"
              },
              "Cache-Control": {
                "$ref": "#/components/headers/Cache-Control"
              },
              "Content-Disposition": {
                "description": "Originals: `inline` for images and PDF, `attachment` otherwise, with the file's name.",
                "schema": {
                  "type": "string"
                }
              }
            },
            "content": {
              "*/*": {
                "schema": {
                  "type": "string",
                  "format": "binary"
                }
              }
            }
          },
          "206": {
            "description": "Originals: the requested range.",
            "headers": {
              "Content-Length": {
                "$ref": "#/components/headers/Content-Length"
              },
              "ETag": {
                "$ref": "#/components/headers/ETag"
              },
              "Accept-Ranges": {
                "$ref": "#/components/headers/Accept-Ranges"
              },
              "Cache-Control": {
                "$ref": "#/components/headers/Cache-Control"
              },
              "Content-Disposition": {
                "description": "Originals: `inline` for images and PDF, `attachment` otherwise, with the file's name.",
                "schema": {
                  "type": "string"
                }
              },
              "Content-Range": {
                "$ref": "#/components/headers/Content-Range"
              }
            },
            "content": {
              "*/*": {
                "schema": {
                  "type": "string",
                  "format": "binary"
                }
              }
            }
          },
          "304": {
            "description": "`If-None-Match` matched.",
            "headers": {
              "ETag": {
                "$ref": "#/components/headers/ETag"
              },
              "Cache-Control": {
                "$ref": "#/components/headers/Cache-Control"
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "403": {
            "description": "The token was altered or never issued here (`type` `https://cirrus.dev/problems/link-invalid`).",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "404": {
            "description": "The file is gone (deleted or in the trash), or is no longer an image.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "410": {
            "description": "The link has expired (`type` `https://cirrus.dev/problems/link-expired`).",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "416": {
            "description": "Originals: the range starts beyond the end of the content.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            },
            "headers": {
              "Content-Range": {
                "$ref": "#/components/headers/Content-Range"
              }
            }
          },
          "422": {
            "description": "Thumbnails: the image cannot have thumbnails (`type` `https://cirrus.dev/problems/no-thumbnail`).",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "security": []
      },
      "head": {
        "tags": [
          "Links"
        ],
        "operationId": "headLink",
        "summary": "An expiring link's headers",
        "description": "As `GET` without the body.",
        "parameters": [
          {
            "$ref": "#/components/parameters/Range"
          },
          {
            "$ref": "#/components/parameters/IfNoneMatch"
          },
          {
            "$ref": "#/components/parameters/IfRange"
          }
        ],
        "responses": {
          "200": {
            "description": "Headers of the content.",
            "headers": {
              "Content-Length": {
                "$ref": "#/components/headers/Content-Length"
              },
              "ETag": {
                "$ref": "#/components/headers/ETag"
              },
              "Accept-Ranges": {
                "$ref": "#/components/headers/Accept-Ranges"
              },
              "Cache-Control": {
                "$ref": "#/components/headers/Cache-Control"
              },
              "Content-Disposition": {
                "description": "Originals: `inline` for images and PDF, `attachment` otherwise, with the file's name.",
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "206": {
            "description": "Headers of the range.",
            "headers": {
              "Content-Length": {
                "$ref": "#/components/headers/Content-Length"
              },
              "ETag": {
                "$ref": "#/components/headers/ETag"
              },
              "Accept-Ranges": {
                "$ref": "#/components/headers/Accept-Ranges"
              },
              "Cache-Control": {
                "$ref": "#/components/headers/Cache-Control"
              },
              "Content-Disposition": {
                "description": "Originals: `inline` for images and PDF, `attachment` otherwise, with the file's name.",
                "schema": {
                  "type": "string"
                }
              },
              "Content-Range": {
                "$ref": "#/components/headers/Content-Range"
              }
            }
          },
          "304": {
            "description": "`If-None-Match` matched.",
            "headers": {
              "ETag": {
                "$ref": "#/components/headers/ETag"
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "403": {
            "description": "The token was altered or never issued here."
          },
          "404": {
            "description": "The file is gone."
          },
          "410": {
            "description": "The link has expired."
          },
          "416": {
            "description": "The range starts beyond the end of the content.",
            "headers": {
              "Content-Range": {
                "$ref": "#/components/headers/Content-Range"
              }
            }
          },
          "422": {
            "description": "The image cannot have thumbnails."
          },
          "429": {
            "description": "Rate limit exceeded.",
            "headers": {
              "Retry-After": {
                "$ref": "#/components/headers/Retry-After"
              },
              "RateLimit-Limit": {
                "$ref": "#/components/headers/RateLimit-Limit"
              },
              "RateLimit-Remaining": {
                "$ref": "#/components/headers/RateLimit-Remaining"
              },
              "RateLimit-Reset": {
                "$ref": "#/components/headers/RateLimit-Reset"
              },
              "RateLimit-Policy": {
                "$ref": "#/components/headers/RateLimit-Policy"
              }
            }
          },
          "503": {
            "description": "A service behind the gateway is unavailable.",
            "headers": {
              "Retry-After": {
                "$ref": "#/components/headers/Retry-After"
              }
            }
          }
        },
        "security": []
      }
    },
    "/v1/images": {
      "get": {
        "tags": [
          "Images"
        ],
        "operationId": "listImages",
        "summary": "The caller's images",
        "description": "Files thumbnail can render (JPEG, PNG, GIF, WebP, HEIC/HEIF, AVIF, TIFF) across all folders, each with the thumbnail and original paths its tier allows, plus the tier's expiring-link bounds. Same filters, sort and pagination as `GET /v1/files`.",
        "parameters": [
          {
            "$ref": "#/components/parameters/Q"
          },
          {
            "$ref": "#/components/parameters/Kind"
          },
          {
            "$ref": "#/components/parameters/ContentType"
          },
          {
            "$ref": "#/components/parameters/MinSize"
          },
          {
            "$ref": "#/components/parameters/MaxSize"
          },
          {
            "$ref": "#/components/parameters/CreatedAfter"
          },
          {
            "$ref": "#/components/parameters/CreatedBefore"
          },
          {
            "$ref": "#/components/parameters/Sort"
          },
          {
            "$ref": "#/components/parameters/Limit"
          },
          {
            "$ref": "#/components/parameters/Cursor"
          }
        ],
        "responses": {
          "200": {
            "description": "A page of images.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ImagePage"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/v1/trash": {
      "get": {
        "tags": [
          "Trash"
        ],
        "operationId": "listTrash",
        "summary": "Trashed items",
        "description": "Items moved to the trash (not their contents), most recently trashed first.",
        "parameters": [
          {
            "$ref": "#/components/parameters/Limit"
          },
          {
            "$ref": "#/components/parameters/Cursor"
          }
        ],
        "responses": {
          "200": {
            "description": "A page of trashed items.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ItemPage"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "422": {
            "$ref": "#/components/responses/ValidationFailed"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      },
      "delete": {
        "tags": [
          "Trash"
        ],
        "operationId": "emptyTrash",
        "summary": "Empty the trash",
        "description": "Everything in it is deleted for good; the quota is freed.",
        "responses": {
          "204": {
            "description": "Emptied."
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/v1/trash/{id}/restore": {
      "parameters": [
        {
          "$ref": "#/components/parameters/ItemID"
        }
      ],
      "post": {
        "tags": [
          "Trash"
        ],
        "operationId": "restoreItem",
        "summary": "Restore a trashed item",
        "description": "Back where it was, or into the root folder when that folder is gone or trashed; a name taken meanwhile gets ` (restored)` added.",
        "responses": {
          "200": {
            "description": "The restored item.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Item"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "description": "No free name could be found.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/v1/trash/{id}": {
      "parameters": [
        {
          "$ref": "#/components/parameters/ItemID"
        }
      ],
      "delete": {
        "tags": [
          "Trash"
        ],
        "operationId": "purgeItem",
        "summary": "Delete a trashed item for good",
        "description": "With everything below it.",
        "responses": {
          "204": {
            "description": "Deleted."
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/healthz": {
      "get": {
        "tags": [
          "Operations"
        ],
        "operationId": "healthz",
        "summary": "Liveness",
        "description": "The process answers.",
        "responses": {
          "200": {
            "description": "Alive.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Health"
                }
              }
            }
          }
        },
        "security": []
      }
    },
    "/readyz": {
      "get": {
        "tags": [
          "Operations"
        ],
        "operationId": "readyz",
        "summary": "Readiness of the gateway",
        "description": "Start-up finished and every check passes.",
        "responses": {
          "200": {
            "description": "Ready.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ReadinessReport"
                }
              }
            },
            "headers": {
              "Cache-Control": {
                "$ref": "#/components/headers/Cache-Control"
              }
            }
          },
          "503": {
            "description": "Not ready.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ReadinessReport"
                }
              }
            },
            "headers": {
              "Cache-Control": {
                "$ref": "#/components/headers/Cache-Control"
              }
            }
          }
        },
        "security": []
      }
    },
    "/metrics": {
      "get": {
        "tags": [
          "Operations"
        ],
        "operationId": "metrics",
        "summary": "Prometheus metrics",
        "description": "Text exposition format 0.0.4. Not served on the gateway's public port unless the operator sets `CIRRUS_METRICS_TOKEN` (404 then); with a token configured, only `Authorization: Bearer <token>` reads it (401 otherwise).",
        "responses": {
          "200": {
            "description": "The metrics.",
            "content": {
              "text/plain": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "401": {
            "description": "A metrics token is configured and the request does not carry it.",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          },
          "404": {
            "description": "Metrics are not served on this port (no `CIRRUS_METRICS_TOKEN`).",
            "content": {
              "application/problem+json": {
                "schema": {
                  "$ref": "#/components/schemas/Problem"
                }
              }
            }
          }
        },
        "security": []
      }
    },
    "/v1/status": {
      "get": {
        "tags": [
          "Operations"
        ],
        "operationId": "status",
        "summary": "Readiness of every service",
        "description": "Asks all five services concurrently; a service that does not answer is reported not ready. One report serves every caller for 2 seconds; rate-limited per client address like anonymous requests.",
        "responses": {
          "200": {
            "description": "Everything is ready.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/SystemStatus"
                }
              }
            },
            "headers": {
              "Cache-Control": {
                "$ref": "#/components/headers/Cache-Control"
              }
            }
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "description": "Something is not ready.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/SystemStatus"
                }
              }
            },
            "headers": {
              "Cache-Control": {
                "$ref": "#/components/headers/Cache-Control"
              }
            }
          }
        },
        "security": []
      }
    },
    "/openapi.json": {
      "get": {
        "tags": [
          "Operations"
        ],
        "operationId": "openapi",
        "summary": "This document",
        "description": "The OpenAPI 3.1 description of the public API.",
        "parameters": [
          {
            "$ref": "#/components/parameters/IfNoneMatch"
          }
        ],
        "responses": {
          "200": {
            "description": "The document.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            },
            "headers": {
              "ETag": {
                "$ref": "#/components/headers/ETag"
              },
              "Cache-Control": {
                "$ref": "#/components/headers/Cache-Control"
              }
            }
          },
          "304": {
            "description": "`If-None-Match` matched.",
            "headers": {
              "ETag": {
                "$ref": "#/components/headers/ETag"
              }
            }
          }
        },
        "security": []
      }
    },
    "/docs": {
      "get": {
        "tags": [
          "Operations"
        ],
        "operationId": "docs",
        "summary": "API documentation page",
        "description": "A self-contained page that renders this document (works offline).",
        "parameters": [
          {
            "$ref": "#/components/parameters/IfNoneMatch"
          }
        ],
        "responses": {
          "200": {
            "description": "The page.",
            "content": {
              "text/html": {
                "schema": {
                  "type": "string"
                }
              }
            },
            "headers": {
              "ETag": {
                "$ref": "#/components/headers/ETag"
              },
              "Cache-Control": {
                "$ref": "#/components/headers/Cache-Control"
              }
            }
          },
          "304": {
            "description": "`If-None-Match` matched.",
            "headers": {
              "ETag": {
                "$ref": "#/components/headers/ETag"
              }
            }
          }
        },
        "security": []
      }
    }
  },
  "components": {
    "securitySchemes": {
      "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The `access_token` from login or refresh (EdDSA-signed JWT, verified against `/v1/auth/jwks`)."
      },
      "cookieAuth": {
        "type": "apiKey",
        "in": "cookie",
        "name": "cirrus_access",
        "description": "The HttpOnly cookie login sets (same access token); named `__Host-cirrus_access` when the deployment serves HTTPS (`CIRRUS_AUTH_COOKIE_SECURE`). The `Authorization` header wins when both are sent. A state-changing request (POST, PUT, PATCH, DELETE) authenticated by the cookie alone must send `Content-Type: application/json`, or `Sec-Fetch-Site: same-origin`, or an `Origin` that is the API's own or a configured CORS origin; otherwise it is refused with 403 (cross-site request forgery)."
      }
    },
    "schemas": {
      "Problem": {
        "type": "object",
        "description": "An error (RFC 9457, `application/problem+json`). Absent optional members are omitted, never `null`.",
        "required": [
          "type",
          "title",
          "status"
        ],
        "properties": {
          "type": {
            "type": "string",
            "description": "A URI naming the kind of problem, e.g. `https://cirrus.dev/problems/validation`, `https://cirrus.dev/problems/not-found`."
          },
          "title": {
            "type": "string",
            "description": "Short summary of the kind of problem (the HTTP reason phrase unless more specific)."
          },
          "status": {
            "type": "integer",
            "description": "The HTTP status code."
          },
          "detail": {
            "type": "string",
            "description": "What went wrong for this request, for people."
          },
          "instance": {
            "type": "string",
            "description": "The request path."
          },
          "errors": {
            "type": "array",
            "description": "Validation failures: every offending field.",
            "items": {
              "$ref": "#/components/schemas/FieldError"
            }
          }
        }
      },
      "FieldError": {
        "type": "object",
        "required": [
          "field",
          "message"
        ],
        "properties": {
          "field": {
            "type": "string",
            "description": "The field: a JSON path (`name`, `tier_id`), a query or form parameter, or a header (`X-Content-SHA256`)."
          },
          "message": {
            "type": "string",
            "description": "What is wrong with it."
          }
        }
      },
      "Tier": {
        "type": "object",
        "description": "What a tier allows. Every member is always present; absent link bounds are `null`.",
        "required": [
          "id",
          "name",
          "thumbnail_sizes",
          "original_links",
          "expiring_links",
          "link_min_seconds",
          "link_max_seconds",
          "quota_bytes",
          "max_upload_bytes",
          "requests_per_minute"
        ],
        "properties": {
          "id": {
            "type": "string",
            "format": "uuid"
          },
          "name": {
            "type": "string"
          },
          "thumbnail_sizes": {
            "type": "array",
            "items": {
              "type": "integer"
            },
            "description": "Thumbnail heights in pixels, ascending."
          },
          "original_links": {
            "type": "boolean",
            "description": "Whether links to the original file are allowed."
          },
          "expiring_links": {
            "type": "boolean",
            "description": "Whether expiring links may be created."
          },
          "link_min_seconds": {
            "type": [
              "integer",
              "null"
            ],
            "description": "Shortest expiring-link lifetime (null unless `expiring_links`)."
          },
          "link_max_seconds": {
            "type": [
              "integer",
              "null"
            ],
            "description": "Longest expiring-link lifetime (null unless `expiring_links`)."
          },
          "quota_bytes": {
            "type": "integer",
            "format": "int64",
            "description": "Storage quota."
          },
          "max_upload_bytes": {
            "type": "integer",
            "format": "int64",
            "description": "Largest single upload."
          },
          "requests_per_minute": {
            "type": "integer",
            "description": "Request rate allowed per user."
          }
        }
      },
      "AdminTier": {
        "description": "A tier as administrators see it.",
        "allOf": [
          {
            "$ref": "#/components/schemas/Tier"
          },
          {
            "type": "object",
            "required": [
              "is_default"
            ],
            "properties": {
              "is_default": {
                "type": "boolean",
                "description": "New users start on this tier."
              }
            }
          }
        ]
      },
      "Quota": {
        "type": "object",
        "required": [
          "total_bytes",
          "max_upload_bytes"
        ],
        "properties": {
          "total_bytes": {
            "type": "integer",
            "format": "int64",
            "description": "The tier's storage quota."
          },
          "max_upload_bytes": {
            "type": "integer",
            "format": "int64",
            "description": "The tier's largest upload."
          }
        }
      },
      "User": {
        "type": "object",
        "description": "A user account.",
        "required": [
          "id",
          "username",
          "email",
          "role",
          "disabled",
          "created_at",
          "tier",
          "quota"
        ],
        "properties": {
          "id": {
            "type": "string",
            "format": "uuid"
          },
          "username": {
            "type": "string"
          },
          "email": {
            "type": "string"
          },
          "role": {
            "type": "string",
            "enum": [
              "user",
              "admin"
            ]
          },
          "disabled": {
            "type": "boolean"
          },
          "created_at": {
            "type": "string",
            "format": "date-time"
          },
          "tier": {
            "$ref": "#/components/schemas/Tier"
          },
          "quota": {
            "$ref": "#/components/schemas/Quota"
          }
        }
      },
      "Me": {
        "type": "object",
        "description": "The caller's profile: the account, its tier with every permission, and the quota with the storage used.",
        "required": [
          "id",
          "username",
          "email",
          "role",
          "disabled",
          "created_at",
          "tier",
          "quota"
        ],
        "properties": {
          "id": {
            "type": "string",
            "format": "uuid"
          },
          "username": {
            "type": "string"
          },
          "email": {
            "type": "string"
          },
          "role": {
            "type": "string",
            "enum": [
              "user",
              "admin"
            ]
          },
          "disabled": {
            "type": "boolean"
          },
          "created_at": {
            "type": "string",
            "format": "date-time"
          },
          "tier": {
            "$ref": "#/components/schemas/Tier"
          },
          "quota": {
            "type": "object",
            "required": [
              "total_bytes",
              "max_upload_bytes",
              "used_bytes"
            ],
            "properties": {
              "total_bytes": {
                "type": "integer",
                "format": "int64",
                "description": "The tier's storage quota."
              },
              "max_upload_bytes": {
                "type": "integer",
                "format": "int64",
                "description": "The tier's largest upload."
              },
              "used_bytes": {
                "type": [
                  "integer",
                  "null"
                ],
                "format": "int64",
                "description": "Bytes stored (files and kept versions); null when the metadata service did not answer."
              },
              "reserved_bytes": {
                "type": "integer",
                "format": "int64",
                "description": "Bytes held by uploads in progress (absent when the metadata service did not answer)."
              }
            }
          }
        }
      },
      "UserPage": {
        "type": "object",
        "required": [
          "items",
          "next_cursor"
        ],
        "properties": {
          "items": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/User"
            }
          },
          "next_cursor": {
            "type": [
              "string",
              "null"
            ],
            "description": "Pass as `cursor` for the next page; null on the last page."
          }
        }
      },
      "TierList": {
        "type": "object",
        "required": [
          "items",
          "next_cursor"
        ],
        "properties": {
          "items": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/AdminTier"
            }
          },
          "next_cursor": {
            "type": "null",
            "description": "Always null: every tier is on one page."
          }
        }
      },
      "TokenPair": {
        "type": "object",
        "required": [
          "access_token",
          "refresh_token",
          "expires_in",
          "token_type"
        ],
        "properties": {
          "access_token": {
            "type": "string",
            "description": "A JWT (EdDSA), sent as `Authorization: Bearer …`."
          },
          "refresh_token": {
            "type": "string",
            "description": "Opaque; single use (each refresh returns a new one)."
          },
          "expires_in": {
            "type": "integer",
            "description": "Seconds until the access token expires."
          },
          "token_type": {
            "type": "string",
            "enum": [
              "Bearer"
            ]
          }
        }
      },
      "JWKS": {
        "type": "object",
        "required": [
          "keys"
        ],
        "properties": {
          "keys": {
            "type": "array",
            "items": {
              "type": "object",
              "required": [
                "kty",
                "crv",
                "alg",
                "use",
                "kid",
                "x"
              ],
              "properties": {
                "kty": {
                  "type": "string",
                  "enum": [
                    "OKP"
                  ]
                },
                "crv": {
                  "type": "string",
                  "enum": [
                    "Ed25519"
                  ]
                },
                "alg": {
                  "type": "string",
                  "enum": [
                    "EdDSA"
                  ]
                },
                "use": {
                  "type": "string",
                  "enum": [
                    "sig"
                  ]
                },
                "kid": {
                  "type": "string",
                  "description": "Key id, named in each token's header."
                },
                "x": {
                  "type": "string",
                  "description": "The public key, base64url."
                }
              }
            }
          }
        }
      },
      "SigningKey": {
        "type": "object",
        "required": [
          "kid"
        ],
        "properties": {
          "kid": {
            "type": "string",
            "description": "Id of the new signing key."
          }
        }
      },
      "RegisterInput": {
        "type": "object",
        "required": [
          "username",
          "email",
          "password"
        ],
        "properties": {
          "username": {
            "type": "string",
            "minLength": 3,
            "maxLength": 32,
            "pattern": "^[a-z0-9_.-]{3,32}$",
            "description": "3 to 32 of a-z, 0-9, `_`, `.`, `-`."
          },
          "email": {
            "type": "string",
            "format": "email",
            "maxLength": 254,
            "description": "Stored lower case."
          },
          "password": {
            "type": "string",
            "minLength": 10,
            "maxLength": 72,
            "description": "At least 10 characters, at most 72 bytes of UTF-8, mixing at least two of: lower case, upper case, digits, symbols."
          }
        }
      },
      "LoginInput": {
        "type": "object",
        "required": [
          "password"
        ],
        "description": "`login` is a username or an e-mail address; `username` or `email` may be sent instead.",
        "anyOf": [
          {
            "required": [
              "login"
            ]
          },
          {
            "required": [
              "username"
            ]
          },
          {
            "required": [
              "email"
            ]
          }
        ],
        "properties": {
          "login": {
            "type": "string",
            "minLength": 1,
            "maxLength": 254
          },
          "username": {
            "type": "string",
            "minLength": 1,
            "maxLength": 254
          },
          "email": {
            "type": "string",
            "minLength": 1,
            "maxLength": 254
          },
          "password": {
            "type": "string",
            "minLength": 1
          }
        }
      },
      "RefreshInput": {
        "type": "object",
        "required": [
          "refresh_token"
        ],
        "properties": {
          "refresh_token": {
            "type": "string",
            "minLength": 1,
            "maxLength": 256
          }
        }
      },
      "LogoutInput": {
        "type": "object",
        "properties": {
          "refresh_token": {
            "type": "string",
            "description": "Its whole session family is revoked. Without it only the cookie is cleared."
          }
        }
      },
      "TierInput": {
        "type": "object",
        "description": "Creating a tier needs every field except the link bounds (which are required when `expiring_links` is true). Changing one takes any subset; `null` clears a link bound. Link bounds are dropped when `expiring_links` is false.",
        "properties": {
          "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "description": "Unique; no leading or trailing spaces or control characters."
          },
          "thumbnail_sizes": {
            "type": "array",
            "maxItems": 10,
            "uniqueItems": true,
            "items": {
              "type": "integer",
              "minimum": 16,
              "maximum": 4096
            }
          },
          "original_links": {
            "type": "boolean"
          },
          "expiring_links": {
            "type": "boolean"
          },
          "link_min_seconds": {
            "type": [
              "integer",
              "null"
            ],
            "minimum": 1,
            "maximum": 2592000
          },
          "link_max_seconds": {
            "type": [
              "integer",
              "null"
            ],
            "minimum": 1,
            "maximum": 2592000,
            "description": "Not less than `link_min_seconds`."
          },
          "quota_bytes": {
            "type": "integer",
            "format": "int64",
            "minimum": 0
          },
          "max_upload_bytes": {
            "type": "integer",
            "format": "int64",
            "minimum": 1
          },
          "requests_per_minute": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1000000
          }
        }
      },
      "UserPatch": {
        "type": "object",
        "properties": {
          "tier_id": {
            "type": "string",
            "format": "uuid",
            "description": "Move the user to this tier."
          },
          "role": {
            "type": "string",
            "enum": [
              "user",
              "admin"
            ]
          },
          "disabled": {
            "type": "boolean",
            "description": "Disabling revokes every refresh token of the user."
          }
        }
      },
      "Item": {
        "type": "object",
        "description": "A folder or a file. Members that do not apply are omitted (never `null`): a folder has no size, content type, checksum, version, state or thumbnails; the root folder has no `parent_id`; only trashed items have `trashed_at`.",
        "required": [
          "id",
          "kind",
          "name",
          "created_at",
          "updated_at"
        ],
        "properties": {
          "id": {
            "type": "string",
            "format": "uuid"
          },
          "kind": {
            "type": "string",
            "enum": [
              "folder",
              "file"
            ]
          },
          "name": {
            "type": "string",
            "description": "1–255 bytes of UTF-8 (NFC), no `/` or control characters, not `.` or `..`. The root folder's name is empty."
          },
          "parent_id": {
            "type": "string",
            "format": "uuid",
            "description": "The folder it is in (absent for the root folder)."
          },
          "size": {
            "type": "integer",
            "format": "int64",
            "description": "Files: bytes of the current content."
          },
          "content_type": {
            "type": "string",
            "description": "Files: media type sniffed from the content (never taken from the client)."
          },
          "sha256": {
            "type": "string",
            "pattern": "^[0-9a-f]{64}$",
            "description": "Files: SHA-256 of the current content, hex."
          },
          "version": {
            "type": "integer",
            "description": "Files: 1 for the first content, +1 on each replacement."
          },
          "state": {
            "type": "string",
            "description": "Files: `ready` for every file the API shows."
          },
          "created_at": {
            "type": "string",
            "format": "date-time"
          },
          "updated_at": {
            "type": "string",
            "format": "date-time"
          },
          "trashed_at": {
            "type": "string",
            "format": "date-time",
            "description": "When it was moved to the trash (trashed items only)."
          },
          "thumbnails": {
            "type": "object",
            "description": "Files: thumbnail state. `not_applicable` for files that are not images.",
            "required": [
              "status",
              "sizes"
            ],
            "properties": {
              "status": {
                "type": "string",
                "enum": [
                  "none",
                  "pending",
                  "ready",
                  "failed",
                  "not_applicable"
                ]
              },
              "sizes": {
                "type": "array",
                "items": {
                  "type": "integer"
                },
                "description": "Heights rendered so far, ascending."
              },
              "failure": {
                "type": "object",
                "description": "Why rendering failed (status `failed` only). `POST /v1/files/{id}/thumbnails/retry` asks again.",
                "required": [
                  "reason"
                ],
                "properties": {
                  "reason": {
                    "type": "string",
                    "enum": [
                      "undecodable",
                      "too_large",
                      "unsupported",
                      "source_missing",
                      "unknown"
                    ]
                  },
                  "detail": {
                    "type": "string"
                  }
                }
              }
            }
          }
        },
        "if": {
          "properties": {
            "kind": {
              "const": "file"
            }
          },
          "required": [
            "kind"
          ]
        },
        "then": {
          "required": [
            "size",
            "version",
            "state",
            "thumbnails"
          ]
        }
      },
      "ItemPage": {
        "type": "object",
        "required": [
          "items"
        ],
        "properties": {
          "items": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Item"
            }
          },
          "next_cursor": {
            "type": "string",
            "description": "Pass as `cursor` (with the same filters and sort) for the next page. Absent on the last page."
          }
        }
      },
      "Version": {
        "type": "object",
        "description": "An earlier content of a file.",
        "required": [
          "id",
          "version",
          "size",
          "content_type",
          "sha256",
          "created_at"
        ],
        "properties": {
          "id": {
            "type": "string",
            "format": "uuid",
            "description": "Pass as `version` to `GET /v1/files/{id}/content` to download it."
          },
          "version": {
            "type": "integer"
          },
          "size": {
            "type": "integer",
            "format": "int64"
          },
          "content_type": {
            "type": "string"
          },
          "sha256": {
            "type": "string",
            "pattern": "^[0-9a-f]{64}$"
          },
          "created_at": {
            "type": "string",
            "format": "date-time",
            "description": "When this content was stored."
          }
        }
      },
      "VersionList": {
        "type": "object",
        "required": [
          "versions"
        ],
        "properties": {
          "versions": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Version"
            },
            "description": "Newest first; the current content is not listed."
          }
        }
      },
      "FolderInput": {
        "type": "object",
        "required": [
          "name",
          "parent_id"
        ],
        "properties": {
          "name": {
            "type": "string",
            "minLength": 1,
            "description": "1–255 bytes of UTF-8, no `/` or control characters, not `.` or `..`; unique among the folder's live items."
          },
          "parent_id": {
            "type": "string",
            "format": "uuid",
            "description": "One of the caller's folders."
          }
        }
      },
      "ItemPatch": {
        "type": "object",
        "description": "Rename (`name`), move (`parent_id`) or both.",
        "anyOf": [
          {
            "required": [
              "name"
            ]
          },
          {
            "required": [
              "parent_id"
            ]
          }
        ],
        "properties": {
          "name": {
            "type": "string",
            "minLength": 1
          },
          "parent_id": {
            "type": "string",
            "format": "uuid",
            "description": "A folder of the caller's; for a folder, not itself or one of its subfolders."
          }
        }
      },
      "CopyInput": {
        "type": "object",
        "required": [
          "parent_id"
        ],
        "properties": {
          "parent_id": {
            "type": "string",
            "format": "uuid",
            "description": "The folder to copy into."
          },
          "name": {
            "type": "string",
            "minLength": 1,
            "description": "The copy's name (default: the file's)."
          }
        }
      },
      "UploadForm": {
        "type": "object",
        "description": "The text fields must come before the `file` part (it is streamed as it arrives).",
        "required": [
          "folder_id",
          "file"
        ],
        "properties": {
          "folder_id": {
            "type": "string",
            "format": "uuid",
            "description": "Folder to create the file in (ignored when replacing content)."
          },
          "name": {
            "type": "string",
            "description": "The file's name (default: the `file` part's filename; ignored when replacing content)."
          },
          "sha256": {
            "type": "string",
            "pattern": "^[0-9a-fA-F]{64}$",
            "description": "Expected SHA-256 of the content, hex (as `X-Content-SHA256`; the header wins)."
          },
          "file": {
            "type": "string",
            "format": "binary",
            "description": "The content."
          }
        }
      },
      "ReplaceForm": {
        "type": "object",
        "description": "Only the `file` part is used (and an optional `sha256` field before it).",
        "required": [
          "file"
        ],
        "properties": {
          "sha256": {
            "type": "string",
            "pattern": "^[0-9a-fA-F]{64}$"
          },
          "file": {
            "type": "string",
            "format": "binary"
          }
        }
      },
      "LinkInput": {
        "type": "object",
        "required": [
          "variant",
          "expires_in"
        ],
        "properties": {
          "variant": {
            "type": "string",
            "enum": [
              "original",
              "thumbnail"
            ]
          },
          "size": {
            "type": "integer",
            "description": "Thumbnail height: required for `thumbnail` (one the tier allows), refused for `original`."
          },
          "expires_in": {
            "type": "integer",
            "description": "Lifetime in seconds, within the tier's bounds (`link_min_seconds`…`link_max_seconds`; 300–30000 when the tier sets none)."
          }
        }
      },
      "Link": {
        "type": "object",
        "required": [
          "url",
          "path",
          "token",
          "file_id",
          "variant",
          "size",
          "expires_at"
        ],
        "properties": {
          "url": {
            "type": "string",
            "description": "The link: `path` under the gateway's public URL (`CIRRUS_PUBLIC_URL`)."
          },
          "path": {
            "type": "string",
            "description": "`/v1/links/{token}`."
          },
          "token": {
            "type": "string",
            "description": "The signed token (`<key id>.<payload>.<signature>`, URL-safe)."
          },
          "file_id": {
            "type": "string",
            "format": "uuid"
          },
          "variant": {
            "type": "string",
            "enum": [
              "original",
              "thumbnail"
            ]
          },
          "size": {
            "type": [
              "integer",
              "null"
            ],
            "description": "Thumbnail height; null for the original."
          },
          "expires_at": {
            "type": "string",
            "format": "date-time"
          }
        }
      },
      "Image": {
        "description": "An image file with the links its owner's tier allows.",
        "allOf": [
          {
            "$ref": "#/components/schemas/Item"
          },
          {
            "type": "object",
            "required": [
              "links"
            ],
            "properties": {
              "links": {
                "type": "object",
                "required": [
                  "thumbnails",
                  "original"
                ],
                "properties": {
                  "thumbnails": {
                    "type": "object",
                    "description": "Path of the thumbnail per height the tier allows, e.g. `{\"200\": \"/v1/files/{id}/thumbnails/200\"}`.",
                    "propertyNames": {
                      "pattern": "^[0-9]+$"
                    },
                    "additionalProperties": {
                      "type": "string"
                    }
                  },
                  "original": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "description": "Path of the content (`/v1/files/{id}/content`), or null when the tier has no links to originals."
                  }
                }
              }
            }
          }
        ]
      },
      "ImagePage": {
        "type": "object",
        "required": [
          "items",
          "next_cursor",
          "expiring_links"
        ],
        "properties": {
          "items": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Image"
            }
          },
          "next_cursor": {
            "type": [
              "string",
              "null"
            ],
            "description": "Pass as `cursor` (with the same filters and sort) for the next page; null on the last page."
          },
          "expiring_links": {
            "type": "object",
            "description": "Whether the caller's tier may create expiring links (`POST /v1/files/{id}/links`) and for how long.",
            "required": [
              "allowed",
              "min_seconds",
              "max_seconds"
            ],
            "properties": {
              "allowed": {
                "type": "boolean"
              },
              "min_seconds": {
                "type": [
                  "integer",
                  "null"
                ]
              },
              "max_seconds": {
                "type": [
                  "integer",
                  "null"
                ]
              }
            }
          }
        }
      },
      "CheckResult": {
        "type": "object",
        "required": [
          "ok"
        ],
        "properties": {
          "ok": {
            "type": "boolean"
          },
          "detail": {
            "type": "string",
            "description": "Short public reason when not ok (`starting`, `unavailable`, `timed out`, `unreachable`)."
          },
          "latency_ms": {
            "type": "number"
          }
        }
      },
      "ReadinessReport": {
        "type": "object",
        "required": [
          "service",
          "ready",
          "checks"
        ],
        "properties": {
          "service": {
            "type": "string"
          },
          "ready": {
            "type": "boolean"
          },
          "checks": {
            "type": "object",
            "additionalProperties": {
              "$ref": "#/components/schemas/CheckResult"
            },
            "description": "By check name: `startup`, `database`, `broker`, `store`, …"
          }
        }
      },
      "SystemStatus": {
        "type": "object",
        "required": [
          "ready",
          "services"
        ],
        "properties": {
          "ready": {
            "type": "boolean",
            "description": "True when every service is ready."
          },
          "services": {
            "type": "object",
            "additionalProperties": {
              "$ref": "#/components/schemas/ReadinessReport"
            },
            "description": "gateway, auth, metadata, blob, thumbnail."
          }
        }
      },
      "Health": {
        "type": "object",
        "required": [
          "status"
        ],
        "properties": {
          "status": {
            "type": "string",
            "enum": [
              "ok"
            ]
          }
        }
      },
      "DeadLetter": {
        "type": "object",
        "description": "An event a consumer gave up on.",
        "required": [
          "id",
          "service",
          "consumer",
          "topic",
          "partition",
          "offset",
          "error",
          "attempts",
          "replays",
          "first_failed_at",
          "last_failed_at"
        ],
        "properties": {
          "id": {
            "type": "string",
            "format": "uuid"
          },
          "service": {
            "type": "string",
            "description": "The service whose consumer failed (metadata, blob, thumbnail)."
          },
          "consumer": {
            "type": "string",
            "description": "The consumer group, e.g. `cirrus-thumbnail`."
          },
          "topic": {
            "type": "string"
          },
          "partition": {
            "type": "integer"
          },
          "offset": {
            "type": "integer"
          },
          "key": {
            "type": "string",
            "description": "The message key (the entity: a file or user id)."
          },
          "event_id": {
            "type": "string",
            "format": "uuid"
          },
          "event_type": {
            "type": "string"
          },
          "error": {
            "type": "string",
            "description": "The last failure."
          },
          "attempts": {
            "type": "integer",
            "description": "Handler attempts in all, replays included."
          },
          "replays": {
            "type": "integer",
            "description": "Replays that failed again."
          },
          "first_failed_at": {
            "type": "string",
            "format": "date-time"
          },
          "last_failed_at": {
            "type": "string",
            "format": "date-time"
          },
          "payload": {
            "type": "string",
            "description": "The message (on `GET /v1/admin/dead-letters/{id}` only): its text, or base64."
          },
          "payload_encoding": {
            "type": "string",
            "enum": [
              "utf-8",
              "base64"
            ]
          }
        }
      },
      "DeadLetterList": {
        "type": "object",
        "required": [
          "items",
          "unavailable"
        ],
        "properties": {
          "items": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/DeadLetter"
            }
          },
          "unavailable": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "Services that did not answer: their dead letters are missing from `items`."
          }
        }
      },
      "DeadLetterOutcome": {
        "type": "object",
        "required": [
          "id",
          "outcome"
        ],
        "properties": {
          "id": {
            "type": "string",
            "format": "uuid"
          },
          "outcome": {
            "type": "string",
            "enum": [
              "replayed",
              "failed"
            ]
          },
          "error": {
            "type": "string",
            "description": "Why it failed again."
          }
        }
      },
      "DeadLetterReplayInput": {
        "type": "object",
        "required": [
          "topic"
        ],
        "properties": {
          "topic": {
            "type": "string",
            "minLength": 1,
            "maxLength": 200,
            "description": "The topic whose dead letters to replay."
          }
        }
      },
      "DeadLetterReplaySummary": {
        "type": "object",
        "required": [
          "topic",
          "replayed",
          "failed",
          "unavailable"
        ],
        "properties": {
          "topic": {
            "type": [
              "string",
              "null"
            ]
          },
          "replayed": {
            "type": "integer"
          },
          "failed": {
            "type": "integer"
          },
          "unavailable": {
            "type": "array",
            "items": {
              "type": "string"
            }
          }
        }
      }
    },
    "parameters": {
      "ItemID": {
        "name": "id",
        "in": "path",
        "required": true,
        "description": "The item's id (an id that is not a UUID is a 404).",
        "schema": {
          "type": "string",
          "format": "uuid"
        }
      },
      "Limit": {
        "name": "limit",
        "in": "query",
        "required": false,
        "description": "Page size (default 100).",
        "schema": {
          "type": "integer",
          "minimum": 1,
          "maximum": 1000,
          "default": 100
        }
      },
      "Cursor": {
        "name": "cursor",
        "in": "query",
        "required": false,
        "description": "`next_cursor` of the previous page.",
        "schema": {
          "type": "string",
          "maxLength": 2048
        }
      },
      "Q": {
        "name": "q",
        "in": "query",
        "required": false,
        "description": "Name contains (case-insensitive).",
        "schema": {
          "type": "string",
          "maxLength": 255
        }
      },
      "Kind": {
        "name": "kind",
        "in": "query",
        "required": false,
        "schema": {
          "type": "string",
          "enum": [
            "folder",
            "file"
          ]
        }
      },
      "ContentType": {
        "name": "content_type",
        "in": "query",
        "required": false,
        "description": "Exact media type, or a family like `image/*`.",
        "schema": {
          "type": "string",
          "maxLength": 255,
          "pattern": "^[A-Za-z0-9+.*_-]+/[A-Za-z0-9+.*_-]+$"
        }
      },
      "MinSize": {
        "name": "min_size",
        "in": "query",
        "required": false,
        "description": "Bytes, at most `max_size`.",
        "schema": {
          "type": "integer",
          "format": "int64",
          "minimum": 0
        }
      },
      "MaxSize": {
        "name": "max_size",
        "in": "query",
        "required": false,
        "description": "Bytes.",
        "schema": {
          "type": "integer",
          "format": "int64",
          "minimum": 0
        }
      },
      "CreatedAfter": {
        "name": "created_after",
        "in": "query",
        "required": false,
        "description": "RFC 3339 date-time (exclusive).",
        "schema": {
          "type": "string",
          "format": "date-time"
        }
      },
      "CreatedBefore": {
        "name": "created_before",
        "in": "query",
        "required": false,
        "description": "RFC 3339 date-time (exclusive).",
        "schema": {
          "type": "string",
          "format": "date-time"
        }
      },
      "Sort": {
        "name": "sort",
        "in": "query",
        "required": false,
        "description": "Order; `-` for descending (default `name`). Ties are broken by id.",
        "schema": {
          "type": "string",
          "enum": [
            "name",
            "-name",
            "size",
            "-size",
            "created_at",
            "-created_at",
            "updated_at",
            "-updated_at"
          ],
          "default": "name"
        }
      },
      "Range": {
        "name": "Range",
        "in": "header",
        "required": false,
        "description": "One byte range (`bytes=0-1023`, `bytes=1024-`, `bytes=-500`). Several ranges, other units or bad syntax are ignored (the whole content is sent).",
        "schema": {
          "type": "string"
        }
      },
      "IfNoneMatch": {
        "name": "If-None-Match",
        "in": "header",
        "required": false,
        "description": "Entity tags; a match answers 304.",
        "schema": {
          "type": "string"
        }
      },
      "IfRange": {
        "name": "If-Range",
        "in": "header",
        "required": false,
        "description": "An entity tag: the range applies only while it matches.",
        "schema": {
          "type": "string"
        }
      },
      "ContentSHA256": {
        "name": "X-Content-SHA256",
        "in": "header",
        "required": false,
        "description": "Expected SHA-256 of the content (hex). On mismatch nothing is kept (422).",
        "schema": {
          "type": "string",
          "pattern": "^[0-9a-fA-F]{64}$"
        }
      }
    },
    "headers": {
      "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {
          "type": "integer"
        }
      },
      "RateLimit-Limit": {
        "description": "Requests allowed in the current window.",
        "schema": {
          "type": "integer"
        }
      },
      "RateLimit-Remaining": {
        "description": "Requests left in the current window.",
        "schema": {
          "type": "integer"
        }
      },
      "RateLimit-Reset": {
        "description": "Seconds until the full limit is available again.",
        "schema": {
          "type": "integer"
        }
      },
      "RateLimit-Policy": {
        "description": "`<limit>;w=60`.",
        "schema": {
          "type": "string"
        }
      },
      "WWW-Authenticate": {
        "description": "`Bearer`.",
        "schema": {
          "type": "string"
        }
      },
      "ETag": {
        "description": "Entity tag of the representation.",
        "schema": {
          "type": "string"
        }
      },
      "Cache-Control": {
        "description": "Caching rules.",
        "schema": {
          "type": "string"
        }
      },
      "Content-Disposition": {
        "description": "`attachment` with the file's name (ASCII fallback and RFC 8187 `filename*`).",
        "schema": {
          "type": "string"
        }
      },
      "Content-Range": {
        "description": "The range sent (`bytes first-last/size`), or `bytes */size` on 416.",
        "schema": {
          "type": "string"
        }
      },
      "Accept-Ranges": {
        "description": "`bytes`.",
        "schema": {
          "type": "string"
        }
      },
      "Content-Length": {
        "description": "Size of the body.",
        "schema": {
          "type": "integer"
        }
      },
      "Set-Cookie-Login": {
        "description": "`cirrus_access=<access token>; Path=/; HttpOnly; SameSite=Lax; Max-Age=<expires_in>` (plus `Secure` when configured).",
        "schema": {
          "type": "string"
        }
      },
      "Set-Cookie-Logout": {
        "description": "`cirrus_access=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`: clears the cookie.",
        "schema": {
          "type": "string"
        }
      }
    },
    "responses": {
      "BadRequest": {
        "description": "The body is not valid JSON, or not a JSON object; or the request path has a `.` or `..` segment or a percent-encoded `/`, `\\` or NUL (refused at the edge for every route).",
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            }
          }
        }
      },
      "Unauthorized": {
        "description": "No access token, or an invalid or expired one (or the account is gone or disabled).",
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            }
          }
        },
        "headers": {
          "WWW-Authenticate": {
            "$ref": "#/components/headers/WWW-Authenticate"
          }
        }
      },
      "Forbidden": {
        "description": "Not allowed.",
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            }
          }
        }
      },
      "NotFound": {
        "description": "No such resource for the caller (someone else's id behaves like an unknown one).",
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            }
          }
        }
      },
      "Conflict": {
        "description": "Conflicts with the current state.",
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            }
          }
        }
      },
      "ContentTooLarge": {
        "description": "The request body is too large.",
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            }
          }
        }
      },
      "UnsupportedMediaType": {
        "description": "The body is not sent as `application/json`.",
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            }
          }
        }
      },
      "ValidationFailed": {
        "description": "Invalid fields or parameters: `errors` names each one.",
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            }
          }
        }
      },
      "TooManyRequests": {
        "description": "Rate limit exceeded (`type` `https://cirrus.dev/problems/rate-limited`): per user at their tier's rate, per client address on register, login, refresh and bootstrap and for anonymous requests; or too many failed logins. Retry after `Retry-After` seconds.",
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            }
          }
        },
        "headers": {
          "Retry-After": {
            "$ref": "#/components/headers/Retry-After"
          },
          "RateLimit-Limit": {
            "$ref": "#/components/headers/RateLimit-Limit"
          },
          "RateLimit-Remaining": {
            "$ref": "#/components/headers/RateLimit-Remaining"
          },
          "RateLimit-Reset": {
            "$ref": "#/components/headers/RateLimit-Reset"
          },
          "RateLimit-Policy": {
            "$ref": "#/components/headers/RateLimit-Policy"
          }
        }
      },
      "Unavailable": {
        "description": "A service behind the gateway is unavailable, or the account is still being set up. Retry after `Retry-After` seconds.",
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            }
          }
        },
        "headers": {
          "Retry-After": {
            "$ref": "#/components/headers/Retry-After"
          }
        }
      },
      "QuotaExceeded": {
        "description": "The storage quota would be exceeded (`type` `https://cirrus.dev/problems/quota-exceeded`), or the store is full.",
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            }
          }
        }
      }
    }
  }
}
"""#
}
