'use strict';
/**
 * 130.crud-api: a shopping cart over a NoSQL table (pk cart_id, sk product_id).
 *
 * Routes: `PUT /cart` adds a product, `GET /cart/{id}` returns one product, `GET /cart` returns
 * the cart's products with total cost (sum of price x quantity) and average price per unit.
 */
const nosql = require('./nosql');

const client = nosql.nosql.get_instance();
const TABLE = 'shopping_cart';

function addProduct(cartId, productId, productName, price, quantity) {
  return client.insert(TABLE, ['cart_id', cartId], ['product_id', productId], {
    price,
    quantity,
    name: productName,
  });
}

function getProduct(cartId, productId) {
  return client.get(TABLE, ['cart_id', cartId], ['product_id', productId]);
}

async function queryProducts(cartId) {
  const items = await client.query(TABLE, ['cart_id', cartId], 'product_id');
  let totalCost = 0;
  let quantity = 0;
  for (const item of items) {
    totalCost += item.price * item.quantity;
    quantity += item.quantity;
  }
  return {
    products: items.map((item) => item.name),
    total_cost: totalCost,
    avg_price: quantity > 0 ? totalCost / quantity : 0.0,
  };
}

exports.handler = async function (event) {
  const results = [];
  const begin = process.hrtime.bigint();
  for (const request of event.requests) {
    const route = request.route;
    const body = request.body || {};
    if (route === 'PUT /cart') {
      await addProduct(body.cart, body.product_id, body.name, body.price, body.quantity);
      results.push({});
    } else if (route === 'GET /cart/{id}') {
      results.push(await getProduct(body.cart, request.path.id));
    } else if (route === 'GET /cart') {
      results.push(await queryProducts(body.cart));
    } else {
      throw new Error('unknown route ' + JSON.stringify(route));
    }
  }
  const end = process.hrtime.bigint();
  return { result: results, measurement: { compute_time: Number(end - begin) / 1000 } };
};
