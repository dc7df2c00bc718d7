'use strict';
/** 010.sleep: wait `sleep` seconds, then return it. The timer is awaited, so the invocation lasts as long as asked. */
exports.handler = async function (event) {
  const seconds = event.sleep === undefined ? 0 : event.sleep;
  if (typeof seconds !== 'number' || !(seconds >= 0)) {
    throw new TypeError('expected an event with a non-negative number `sleep`, got ' + JSON.stringify(seconds));
  }
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  return { result: seconds };
};
