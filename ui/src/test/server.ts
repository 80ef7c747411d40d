// The API as the component tests see it: msw answers in the services' documented shapes.
import { setupServer } from "msw/node";

export const server = setupServer();
